// Who may do what on NATS: one user per role, each allowed only the subjects it publishes, subscribes to
// and the JetStream API calls it makes (read off services/src: wire/subjects.ts, lib/jetstream.ts,
// ingest/consumer.ts, streaming/job.ts, lease.ts, checkpoint.ts, resume.ts, training/predictor.ts), plus
// an admin user that no container gets (the stack's `natsUser` output, and tests that need everything).
//
// Users in ONE account, not an account per role: every role works on the same JetStream assets (the raw
// stream the injectors fill is read by ingest, the stream job and predict), and a stream belongs to one
// account. Separate accounts would need the raw stream, its JetStream API, the ack subjects and each
// request/reply path exported and imported account by account, an operator/JWT setup or a long config,
// for no isolation that per-user subject permissions do not already give within one account.
//
// Plain text, no imports: the Pulumi program renders the server config with it (tiers/messaging.ts), and
// scripts/backing-services.sh runs it with Node's type stripping for the development server.

/** The roles that log in to NATS (migrate does not; the exporter reads the HTTP monitoring port). */
export const NATS_ROLES = ['inject', 'ingest', 'stream', 'train', 'predict'] as const;
export type NatsRole = (typeof NATS_ROLES)[number];

/** The admin user: every permission; no container gets it. */
export const NATS_ADMIN_USER = 'smartmeter';

/** The names of what the roles create, as the services default them (their env can rename them). */
const ROOT = 'smartmeter';
const RAW_STREAM = 'SMARTMETER_RAW';
const OUTAGE_STREAM = 'SMARTMETER_OUTAGES';
const INGEST_CONSUMER = 'ingest';
const STREAM_BUCKETS = ['smartmeter-stream-lease', 'smartmeter-stream-checkpoint'];

/**
 * Where a user's requests get their replies: `_INBOX.<user>.…` (services/src/lib/nats.ts sets nats.js's
 * inboxPrefix so). A role may subscribe to its own inboxes only, so no role reads another's replies,
 * and with them the messages JetStream delivers to ingest's or the stream job's pull requests.
 */
export function natsInbox(user: string): string {
  return `_INBOX.${user}`;
}

export interface NatsPermissions {
  readonly publish: { readonly allow: readonly string[]; readonly deny: readonly string[] };
  readonly subscribe: { readonly allow: readonly string[]; readonly deny: readonly string[] };
  /** May publish once to the reply subject of each request it received (predict's replies). */
  readonly allowResponses: boolean;
}

const API = '$JS.API';

/**
 * Denied to every role whatever its allows say, so that a later widening cannot give them: deleting or
 * purging a stream or one of its messages, and the account- and server-wide operations.
 */
const NEVER = [
  `${API}.STREAM.DELETE.>`,
  `${API}.STREAM.PURGE.>`,
  `${API}.STREAM.MSG.DELETE.>`,
  `${API}.ACCOUNT.>`,
  `${API}.META.>`,
  `${API}.SERVER.>`,
];

/** Looking at, creating and converging a stream the role owns (lib/jetstream.ts ensureRawStream, KV). */
const ownStream = (name: string) => [
  `${API}.STREAM.INFO.${name}`,
  `${API}.STREAM.CREATE.${name}`,
  `${API}.STREAM.UPDATE.${name}`,
];

/** Every API call on one consumer. */
const consumerCalls = (stream: string, name: string) => [
  `${API}.CONSUMER.CREATE.${stream}.${name}`,
  `${API}.CONSUMER.CREATE.${stream}.${name}.>`,
  `${API}.CONSUMER.DURABLE.CREATE.${stream}.${name}`,
  `${API}.CONSUMER.INFO.${stream}.${name}`,
  `${API}.CONSUMER.MSG.NEXT.${stream}.${name}`,
  `${API}.CONSUMER.DELETE.${stream}.${name}`,
  `${API}.CONSUMER.PAUSE.${stream}.${name}`,
  `${API}.CONSUMER.UNPIN.${stream}.${name}`,
];

/** What a role may do (the tests' table reads it too). */
export function natsPermissions(role: NatsRole): NatsPermissions {
  const inbox = `${natsInbox(role)}.>`;
  const deadLetters = `${ROOT}.deadletter.>`;
  switch (role) {
    case 'inject':
      // Acknowledged atomic batches are plain publishes and one request on the readings' subjects; the
      // answers come to the injector's inbox. No JetStream API call at all.
      return {
        publish: {
          allow: [
            `${ROOT}.raw.voltage.data.>`,
            `${ROOT}.raw.temperature.data`,
            `${ROOT}.raw.temperature.forecast.12`,
            `${ROOT}.raw.control.retire`,
          ],
          deny: NEVER,
        },
        subscribe: { allow: [inbox], deny: [] },
        allowResponses: false,
      };
    case 'ingest':
      // Creates or converges the raw stream (as the stream job does: whichever starts first) and owns its
      // durable consumer; fetches and acknowledges through it.
      return {
        publish: {
          allow: [
            `${API}.INFO`,
            ...ownStream(RAW_STREAM),
            ...consumerCalls(RAW_STREAM, INGEST_CONSUMER).filter((s) => !/\.(DELETE|PAUSE|UNPIN)\./.test(s)),
            `$JS.ACK.${RAW_STREAM}.${INGEST_CONSUMER}.>`,
            deadLetters,
          ],
          deny: NEVER,
        },
        subscribe: { allow: [inbox], deny: [] },
        allowResponses: false,
      };
    case 'stream':
      // Creates or converges the raw and outage streams and its two KV buckets; reads the raw stream
      // through ordered consumers of its own (random names, deleted when done) and single messages (its
      // resume point); writes extracts, outage events (acknowledged) and its lease and checkpoint.
      return {
        publish: {
          allow: [
            `${API}.INFO`,
            ...ownStream(RAW_STREAM),
            ...ownStream(OUTAGE_STREAM),
            ...STREAM_BUCKETS.flatMap((b) => [...ownStream(`KV_${b}`), `${API}.DIRECT.GET.KV_${b}.>`]),
            ...STREAM_BUCKETS.map((b) => `${API}.STREAM.MSG.GET.KV_${b}`),
            ...STREAM_BUCKETS.map((b) => `$KV.${b}.>`),
            `${API}.STREAM.MSG.GET.${RAW_STREAM}`,
            // Ordered consumers are created without a name in the subject; the server refuses a durable
            // or an existing name there, so this cannot reach ingest's consumer.
            `${API}.CONSUMER.CREATE.${RAW_STREAM}`,
            ...consumerCalls(RAW_STREAM, '*'),
            `${ROOT}.extract.>`,
            deadLetters,
          ],
          // Any consumer of its own, but never ingest's.
          deny: [...NEVER, ...consumerCalls(RAW_STREAM, INGEST_CONSUMER), `$JS.ACK.${RAW_STREAM}.>`],
        },
        subscribe: { allow: [inbox], deny: [] },
        allowResponses: false,
      };
    case 'train':
      // Announces a new model version; everything else it does is in Cassandra.
      return {
        publish: { allow: [`${ROOT}.model.updated`], deny: NEVER },
        subscribe: { allow: [], deny: ['>'] },
        allowResponses: false,
      };
    case 'predict':
      // Forecasts (a core subscription in a queue group) and requests in, predictions and replies out.
      return {
        publish: { allow: [`${ROOT}.extract.voltage.prediction.12`, deadLetters], deny: NEVER },
        subscribe: {
          allow: [`${ROOT}.raw.temperature.forecast.12`, `${ROOT}.predict`, `${ROOT}.model.updated`],
          deny: [],
        },
        allowResponses: true,
      };
  }
}

/** A NATS config string: quoted, with `"` and `\` escaped. */
const quote = (s: string) => JSON.stringify(s);
const list = (items: readonly string[]) => `[${items.map(quote).join(', ')}]`;

function permissionBlock(p: NatsPermissions): string {
  // An empty allow list would mean "everything": left out, the deny list says what is refused.
  const rule = (r: { allow: readonly string[]; deny: readonly string[] }) =>
    `{ ${[r.allow.length ? `allow: ${list(r.allow)}` : '', r.deny.length ? `deny: ${list(r.deny)}` : ''].filter(Boolean).join(', ')} }`;
  return (
    `{\n        publish: ${rule(p.publish)}\n        subscribe: ${rule(p.subscribe)}` +
    (p.allowResponses ? `\n        allow_responses: true` : '') +
    '\n      }'
  );
}

/** Every user's password: the admin's and one per role. Letters and digits (they sit in quoted strings). */
export type NatsPasswords = { readonly admin: string } & { readonly [R in NatsRole]: string };

/** The server's `authorization` block: the admin user and one user per role with its permissions. */
export function natsAuthorization(passwords: NatsPasswords): string {
  const users = [
    `    { user: ${quote(NATS_ADMIN_USER)}, password: ${quote(passwords.admin)} }`,
    ...NATS_ROLES.map(
      (role) =>
        `    {\n      user: ${quote(role)}, password: ${quote(passwords[role])}\n` +
        `      permissions: ${permissionBlock(natsPermissions(role))}\n    }`,
    ),
  ];
  return `authorization {\n  users: [\n${users.join('\n')}\n  ]\n}\n`;
}

/** The user NATS members log in with on each other's route port. */
export const NATS_ROUTE_USER = 'route';

/**
 * The `cluster` block of a member: its route port asks for the route user's password, and its routes to
 * the members (`host:port`, itself included, as NATS allows) give it. A route without it is refused.
 */
export function natsCluster(
  listen: string,
  members: readonly string[],
  routePassword: string,
  /**
   * Mutual TLS on routes: each member presents this certificate (server and client uses) when it dials and
   * when it is dialled, and verifies the other's against the CA (`verify`); the password still applies.
   * The member also stops advertising its client URLs (overlay addresses the certificate does not name):
   * clients keep the names they were given.
   */
  tls?: NatsTlsFiles,
): string {
  const login = `${NATS_ROUTE_USER}:${routePassword}`;
  return `cluster {
  name: smartmeter
  listen: ${quote(listen)}
  authorization { user: ${quote(NATS_ROUTE_USER)}, password: ${quote(routePassword)} }
${tls ? `${natsTlsBlock(tls, true, '  ')}\n  no_advertise: true\n` : ''}  routes: [
${members.map((m) => `    ${quote(`nats://${login}@${m}`)}`).join('\n')}
  ]
}
`;
}

/** TLS settings of the NATS config: where the member's certificate, key and CA are. */
export interface NatsTlsFiles {
  readonly certFile: string;
  readonly keyFile: string;
  readonly caFile: string;
}

/**
 * A NATS `tls { }` block. Clients (`verify` false) need no certificate: they log in with their password;
 * routes (`verify` true) must present one signed by the CA. `timeout`: seconds for the handshake.
 */
export function natsTlsBlock(files: NatsTlsFiles, verify: boolean, indent = ''): string {
  const q = (s: string) => JSON.stringify(s);
  return [
    `${indent}tls {`,
    `${indent}  cert_file: ${q(files.certFile)}`,
    `${indent}  key_file: ${q(files.keyFile)}`,
    `${indent}  ca_file: ${q(files.caFile)}`,
    ...(verify ? [`${indent}  verify: true`] : []),
    `${indent}  timeout: 5`,
    `${indent}}`,
  ].join('\n');
}
