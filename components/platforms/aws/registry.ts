// The services image on AWS: an ECR repository, the image built on the deployer's machine and pushed
// there. Swarm nodes pull it with the registry credentials each docker.Service carries (`auth`, what
// `docker service create --with-registry-auth` does), so the nodes need no ECR permission of their own.
import * as aws from '@pulumi/aws';
import * as docker from '@pulumi/docker';
import * as pulumi from '@pulumi/pulumi';

export interface ServicesRegistryArgs {
  /** How the services image is built (the same build as the local platform's). */
  readonly build: docker.types.input.DockerBuild;
}

export class ServicesRegistry extends pulumi.ComponentResource {
  public readonly repositoryUrl: pulumi.Output<string>;
  /** `<repository>@sha256:…`: services pin the exact image that was pushed. */
  public readonly imageRef: pulumi.Output<string>;
  /** ECR credentials (a 12-hour token, secret) for docker.Service `auth`. */
  public readonly auth: pulumi.Output<{ serverAddress: string; username: string; password: string }>;

  constructor(name: string, args: ServicesRegistryArgs, opts?: pulumi.ComponentResourceOptions) {
    super('smartmeter:aws:ServicesRegistry', name, {}, opts);
    const parent = { parent: this };

    const repo = new aws.ecr.Repository(
      `${name}-services`,
      { forceDelete: true, imageTagMutability: 'MUTABLE', imageScanningConfiguration: { scanOnPush: true } },
      parent,
    );
    const token = aws.ecr.getAuthorizationTokenOutput({ registryId: repo.registryId }, parent);
    const server = repo.repositoryUrl.apply((url) => url.split('/')[0]);
    this.auth = pulumi.secret(
      pulumi
        .all([server, token.userName, token.password])
        .apply(([serverAddress, username, password]) => ({ serverAddress, username, password })),
    );

    const image = new docker.Image(
      `${name}-services`,
      {
        imageName: pulumi.interpolate`${repo.repositoryUrl}:latest`,
        build: { platform: 'linux/amd64', ...args.build },
        registry: { server, username: token.userName, password: pulumi.secret(token.password) },
      },
      parent,
    );

    this.repositoryUrl = repo.repositoryUrl;
    this.imageRef = image.repoDigest;
    this.registerOutputs({ repositoryUrl: this.repositoryUrl, imageRef: this.imageRef });
  }
}
