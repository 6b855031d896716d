// Waits, over SSH, until the swarm has all its nodes Ready, then hands out the docker host URL.
// The docker provider takes its host from this resource, so it connects only once cloud-init has
// installed Docker and every node has joined (pulumi-docker#1293: connection refused right after boot).
import * as pulumi from '@pulumi/pulumi';

export interface SwarmReadyInputs {
  /** `user@address` of a manager. */
  readonly target: pulumi.Input<string>;
  readonly sshOpts: pulumi.Input<pulumi.Input<string>[]>;
  readonly nodes: pulumi.Input<number>;
  readonly timeoutSeconds?: pulumi.Input<number>;
}

interface Outs {
  target: string;
  sshOpts: string[];
  nodes: number;
  timeoutSeconds: number;
  dockerHost: string;
}

// Serialised by Pulumi into the state: self-contained, modules required inside the function.
const provider: pulumi.dynamic.ResourceProvider = {
  async create(inputs: Omit<Outs, 'dockerHost'>) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { execFileSync } = require('node:child_process');
    const deadline = Date.now() + inputs.timeoutSeconds * 1000;
    let last: string;
    for (;;) {
      try {
        const out: string = execFileSync(
          'ssh',
          [
            ...inputs.sshOpts,
            '-o',
            'BatchMode=yes',
            '-o',
            'ConnectTimeout=10',
            inputs.target,
            'docker node ls --format "{{.Status}}"',
          ],
          {
            encoding: 'utf8',
            stdio: ['ignore', 'pipe', 'pipe'],
            timeout: 30_000,
          },
        );
        const ready = out.split('\n').filter((s) => s.trim() === 'Ready').length;
        if (ready >= inputs.nodes) break;
        last = `${ready} of ${inputs.nodes} nodes ready`;
      } catch (err) {
        last = (err as Error).message.split('\n')[0];
      }
      if (Date.now() > deadline)
        throw new Error(`swarm at ${inputs.target} not ready after ${inputs.timeoutSeconds}s: ${last}`);
      await new Promise((r) => setTimeout(r, 10_000));
    }
    return { id: inputs.target, outs: { ...inputs, dockerHost: `ssh://${inputs.target}` } };
  },
  async diff(_id, olds: Outs, news: Omit<Outs, 'dockerHost'>) {
    const changes =
      olds.target !== news.target ||
      olds.nodes !== news.nodes ||
      JSON.stringify(olds.sshOpts) !== JSON.stringify(news.sshOpts);
    return { changes, replaces: olds.target !== news.target ? ['target'] : [] };
  },
  async update(_id, _olds: Outs, news: Omit<Outs, 'dockerHost'>) {
    const created = await provider.create(news);
    return { outs: created.outs };
  },
};

export class SwarmReady extends pulumi.dynamic.Resource {
  // `declare`: a class field would overwrite the output the base constructor set (ES2022 class fields).
  declare public readonly dockerHost: pulumi.Output<string>;

  constructor(name: string, args: SwarmReadyInputs, opts?: pulumi.CustomResourceOptions) {
    super(
      provider,
      name,
      { timeoutSeconds: 1200, ...args, dockerHost: undefined },
      opts,
      'smartmeter',
      'SwarmReady',
    );
  }
}
