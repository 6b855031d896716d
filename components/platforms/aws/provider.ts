// The stack's AWS provider, configured the way Pulumi's AWS users configure one: from the `aws:*` stack
// keys (`pulumi config set aws:region eu-west-1`, aws:profile, aws:assumeRoles, aws:endpoints,
// aws:skip…; environment variables still fill what is unset). An explicit provider reads no stack config
// of its own (only the default one does), so every `aws:*` key is handed over here, and the stack's own
// tags are merged into aws:defaultTags: every taggable resource then carries the project and the stack.
import * as aws from '@pulumi/aws';
import * as pulumi from '@pulumi/pulumi';

import { ConfigError } from '../../config';

/**
 * How each provider setting is given as a stack key: `string` as is, `json` as the JSON that
 * `pulumi config set --path` (or a YAML object/list/boolean/number) stores. A Record over every key of
 * ProviderArgs: an @pulumi/aws upgrade that adds or drops a setting fails the typecheck here.
 */
const SETTINGS: Record<keyof aws.ProviderArgs, 'string' | 'json'> = {
  accessKey: 'string',
  allowedAccountIds: 'json',
  assumeRoleWithWebIdentity: 'json',
  assumeRoles: 'json',
  customCaBundle: 'string',
  defaultTags: 'json',
  ec2MetadataServiceEndpoint: 'string',
  ec2MetadataServiceEndpointMode: 'string',
  endpoints: 'json',
  forbiddenAccountIds: 'json',
  httpProxy: 'string',
  httpsProxy: 'string',
  ignoreTags: 'json',
  insecure: 'json',
  maxRetries: 'json',
  noProxy: 'string',
  profile: 'string',
  region: 'string',
  retryMode: 'string',
  s3UsEast1RegionalEndpoint: 'string',
  s3UsePathStyle: 'json',
  secretKey: 'string',
  sharedConfigFiles: 'json',
  sharedCredentialsFiles: 'json',
  skipCredentialsValidation: 'json',
  skipMetadataApiCheck: 'json',
  skipRegionValidation: 'json',
  skipRequestingAccountId: 'json',
  stsRegion: 'string',
  tagPolicyCompliance: 'string',
  token: 'string',
  tokenBucketRateLimiterCapacity: 'json',
  useDualstackEndpoint: 'json',
  useFipsEndpoint: 'json',
  userAgents: 'json',
};

/** Settings that may carry credentials: secret in the state whether or not the stack key was set --secret. */
const CREDENTIALS: ReadonlySet<string> = new Set([
  'accessKey',
  'secretKey',
  'token',
  'assumeRoles',
  'assumeRoleWithWebIdentity',
]);

const REGION = /^[a-z]{2}(-[a-z]+)+-\d$/;

/** The tags every taggable resource of the stack carries (merged under the user's aws:defaultTags). */
export function stackTags(project = pulumi.getProject(), stack = pulumi.getStack()): Record<string, string> {
  return { 'smartmeter:project': project, 'pulumi:project': project, 'pulumi:stack': stack };
}

/** The `aws:*` stack keys, without the namespace (pulumi.runtime.allConfig by default). */
export function awsStackKeys(
  all: Record<string, string> = pulumi.runtime.allConfig(),
): Record<string, string> {
  return Object.fromEntries(
    Object.entries(all)
      .filter(([k]) => k.startsWith('aws:'))
      .map(([k, v]) => [k.slice('aws:'.length), v]),
  );
}

/**
 * The provider's arguments from the `aws:*` keys; a key the provider does not know, or a value that is
 * not what the provider takes, stops the deployment with a message naming the key.
 */
export function awsProviderArgs(
  keys: Record<string, string>,
  tags: Record<string, string> = stackTags(),
): aws.ProviderArgs {
  const args: Record<string, unknown> = {};
  for (const [name, text] of Object.entries(keys)) {
    const kind = SETTINGS[name as keyof aws.ProviderArgs];
    if (kind === undefined) {
      throw new ConfigError(
        `aws:${name} is not a setting of the AWS provider (allowed: ${Object.keys(SETTINGS)
          .map((k) => `aws:${k}`)
          .join(', ')})`,
      );
    }
    let value: unknown = text;
    if (kind === 'json') {
      try {
        value = JSON.parse(text);
      } catch {
        throw new ConfigError(
          `aws:${name} must be a JSON or YAML value as the AWS provider takes it (a list, an object, ` +
            `true/false or a number), got ${JSON.stringify(text)}`,
        );
      }
    }
    args[name] = CREDENTIALS.has(name) ? pulumi.secret(value) : value;
  }
  if (typeof args.region === 'string' && !REGION.test(args.region))
    throw new ConfigError(
      `aws:region must be an AWS region such as us-east-1, got ${JSON.stringify(args.region)}`,
    );
  const isMap = (v: unknown): v is Record<string, unknown> =>
    typeof v === 'object' && v !== null && !Array.isArray(v);
  const given = args.defaultTags ?? {};
  const userTags = isMap(given) ? (given.tags ?? {}) : undefined;
  if (!isMap(userTags) || Object.values(userTags).some((v) => typeof v !== 'string'))
    throw new ConfigError(
      `aws:defaultTags must be an object with a \`tags\` map of strings, such as {"tags":{"team":"data"}}, got ${JSON.stringify(keys.defaultTags)}`,
    );
  // The user's tags come first: the stack's own keys say which stack made a resource and always win.
  args.defaultTags = { ...(args.defaultTags as object), tags: { ...userTags, ...tags } };
  return args as aws.ProviderArgs;
}
