// What the planner assumes AWS charges: us-east-1 on-demand Linux prices, the same figures as the README's
// "What the defaults cost" (tests/planner/aws-prices.test.ts keeps the two in step). Assumptions, not a
// price list: check the current AWS price list before trusting a total.

export interface InstanceType {
  readonly name: string;
  readonly vcpus: number;
  readonly memoryGiB: number;
  /** On-demand USD per hour. */
  readonly perHour: number;
}

/** The x86_64 types the planner chooses from, smallest first. */
export const INSTANCE_TYPES: readonly InstanceType[] = [
  { name: 't3.medium', vcpus: 2, memoryGiB: 4, perHour: 0.0416 },
  { name: 't3.large', vcpus: 2, memoryGiB: 8, perHour: 0.0832 },
  { name: 't3.xlarge', vcpus: 4, memoryGiB: 16, perHour: 0.1664 },
  { name: 'm5.xlarge', vcpus: 4, memoryGiB: 16, perHour: 0.192 },
  { name: 'm5.2xlarge', vcpus: 8, memoryGiB: 32, perHour: 0.384 },
];

export const PRICES = {
  region: 'us-east-1',
  /** gp3 storage, USD per GB-month (the root volumes). */
  gp3PerGbMonth: 0.08,
  /** USD per hour per public IPv4 address (one per node). */
  publicIpv4PerHour: 0.005,
  /** Hours in a month, as AWS bills them. */
  hoursPerMonth: 730,
} as const;

export function instanceType(name: string): InstanceType {
  const found = INSTANCE_TYPES.find((t) => t.name === name);
  if (!found) {
    throw new Error(
      `no price assumed for instance type ${name}: choose one of ${INSTANCE_TYPES.map((t) => t.name).join(', ')}`,
    );
  }
  return found;
}
