// Versioned models in the Cassandra `models` table (name, version DESC): the newest version is the one
// served. Versions are claimed with a lightweight transaction, so two trainers can never write the same
// version; only models that passed evaluation are written, so "newest" always means "accepted".
import { VARIABLES } from '../contract/variables';
import { Client } from 'cassandra-driver';
import { ModelEvaluation } from './evaluation';
import { TrainingSpec } from './model';

export const DEFAULT_MODEL_NAME: string = VARIABLES.MODEL_NAME.default;

/** The `metrics` column (JSON): the held-out evaluation and how the model was trained. */
export interface ModelMetrics extends ModelEvaluation {
  /** Joined rows available when the model was trained (train + held-out). */
  totalRows: number;
  trainingSeconds: number;
  finalLoss: number;
  spec: TrainingSpec;
}

export interface StoredModel {
  name: string;
  version: number;
  createdAt: Date;
  topology: string;
  weights: Buffer;
  metrics: ModelMetrics;
  trainingRows: number;
}

export type ModelRecord = Omit<StoredModel, 'version' | 'createdAt'>;

function fromRow(row: Record<string, unknown>): StoredModel {
  return {
    name: row.name as string,
    version: row.version as number,
    createdAt: row.created_at as Date,
    topology: row.topology as string,
    weights: row.weights as Buffer,
    metrics: JSON.parse(row.metrics as string) as ModelMetrics,
    trainingRows: row.training_rows as number,
  };
}

export async function latestModel(
  client: Client,
  keyspace: string,
  name = DEFAULT_MODEL_NAME,
): Promise<StoredModel | undefined> {
  const rs = await client.execute(`SELECT * FROM ${keyspace}.models WHERE name = ? LIMIT 1`, [name], {
    prepare: true,
  });
  const row = rs.first();
  return row ? fromRow(row) : undefined;
}

export async function modelVersion(
  client: Client,
  keyspace: string,
  name: string,
  version: number,
): Promise<StoredModel | undefined> {
  const rs = await client.execute(
    `SELECT * FROM ${keyspace}.models WHERE name = ? AND version = ?`,
    [name, version],
    { prepare: true },
  );
  const row = rs.first();
  return row ? fromRow(row) : undefined;
}

/** Writes the model as the next version and returns that version. */
export async function saveModel(client: Client, keyspace: string, model: ModelRecord): Promise<number> {
  for (let attempt = 0; attempt < 10; attempt++) {
    const rs = await client.execute(
      `SELECT version FROM ${keyspace}.models WHERE name = ? LIMIT 1`,
      [model.name],
      { prepare: true },
    );
    const version = ((rs.first()?.version as number | undefined) ?? 0) + 1;
    const insert = await client.execute(
      `INSERT INTO ${keyspace}.models (name, version, created_at, topology, weights, metrics, training_rows)
       VALUES (?, ?, ?, ?, ?, ?, ?) IF NOT EXISTS`,
      [
        model.name,
        version,
        new Date(),
        model.topology,
        model.weights,
        JSON.stringify(model.metrics),
        model.trainingRows,
      ],
      { prepare: true },
    );
    if (insert.wasApplied()) return version;
  }
  throw new Error(`could not claim a new version of model "${model.name}" after 10 attempts`);
}
