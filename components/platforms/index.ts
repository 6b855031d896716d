// Picks the platform for the stack (`smartmeter:platform`). This is the only place that knows which
// platforms exist; tiers only see the Platform interface (components/spec.ts).
//
// Contract for a platform module: it exports a class `<Name>Platform` extending
// pulumi.ComponentResource and implementing Platform, constructed as
// `new XPlatform(name, { config: StackConfig }, opts)`. The AWS one lives in ./aws (index.ts,
// exporting `AwsPlatform`) and is loaded only for `aws` stacks, so a local deploy never loads @pulumi/aws.
import * as pulumi from '@pulumi/pulumi';

import type { StackConfig } from '../config';
import type { Platform } from '../spec';
import { checkHostFiles, checkHostMemory, LocalPlatform } from './local';

export type PlatformConstructor = new (
  name: string,
  args: { readonly config: StackConfig },
  opts?: pulumi.ComponentResourceOptions,
) => Platform;

export function createPlatform(config: StackConfig, opts?: pulumi.ComponentResourceOptions): Platform {
  switch (config.platform) {
    case 'local':
      checkHostFiles(config);
      checkHostMemory(config);
      return new LocalPlatform('local', { config }, opts);
    case 'aws': {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const { AwsPlatform } = require('./aws') as { AwsPlatform: PlatformConstructor };
      return new AwsPlatform('aws', { config }, opts);
    }
  }
}
