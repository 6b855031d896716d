// How the one services image is built from services/, the same on every platform (only where it is
// pushed differs). The context is the repository root because the npm workspace lockfile lives there.
import * as path from 'node:path';
import type * as docker from '@pulumi/docker';

import type { StackConfig } from '../config';

export const REPO_ROOT = path.resolve(__dirname, '..', '..');

export function servicesImageBuild(
  config: StackConfig,
  repoRoot: string = REPO_ROOT,
): docker.types.input.DockerBuild {
  return {
    context: repoRoot,
    dockerfile: path.join(repoRoot, 'services', 'Dockerfile'),
    args: { NODE_IMAGE: config.images.nodeBase },
    // BuildKit, the engine's own (the provider talks to the Engine API; no buildx plugin needed). The
    // classic builder is not an option: the provider does not ask it to remove its intermediate
    // containers (no `rm`), so every build left one per step run, which `pulumi destroy` never removes.
    builderVersion: 'BuilderBuildKit',
  };
}
