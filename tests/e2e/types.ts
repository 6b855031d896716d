// The @pulumi/docker resource types the e2e harness creates, by their type tokens.
export const T = {
  network: 'docker:index/network:Network',
  volume: 'docker:index/volume:Volume',
  remoteImage: 'docker:index/remoteImage:RemoteImage',
  image: 'docker:index/image:Image',
  container: 'docker:index/container:Container',
  service: 'docker:index/service:Service',
  secret: 'docker:index/secret:Secret',
  config: 'docker:index/serviceConfig:ServiceConfig',
} as const;
