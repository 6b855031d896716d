// CPU time from the processes' own counters, which wall-clock noise from other work on the machine
// does not move the way it moves rates: /proc/<pid>/stat for every process the bench compares (itself,
// the ingest children, nats-server, Cassandra's JVM), so that both sides of a ratio count alike; all
// threads are counted (services/test/bench/cpu.test.ts checks them against a process's own getrusage).
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

let tickUs: number | undefined;

/** User + system CPU µs of a process, or undefined when it cannot be read (not Linux, gone). */
export function processCpuUs(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name, which is in parentheses and may hold spaces: utime and stime are
    // fields 14 and 15 of the line, 12th and 13th after the name.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    tickUs ??= 1e6 / Number(execFileSync('getconf', ['CLK_TCK']).toString().trim());
    return (Number(fields[11]) + Number(fields[12])) * tickUs;
  } catch {
    return undefined;
  }
}

/** Sums the CPU µs of a set of processes; undefined if any cannot be read. */
export function totalCpuUs(pids: (number | undefined)[]): number | undefined {
  let sum = 0;
  for (const pid of pids) {
    const us = processCpuUs(pid);
    if (us === undefined) return undefined;
    sum += us;
  }
  return sum;
}
