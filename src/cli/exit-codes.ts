// Exit codes of the brook command, kept apart from the client commands so that `brook start`
// does not load them (src/cli/main.ts imports them only for the other commands).

/** Exit codes scripts can rely on (documented in `brook --help` and the README). */
export const ExitCode = {
  OK: 0,
  /** A Kafka error, an unreachable broker, bad input data, a timeout. */
  ERROR: 1,
  /** Bad command line: unknown command or option, missing or invalid value. */
  USAGE: 2,
  /** A topic, partition or group that does not exist. */
  NOT_FOUND: 3,
} as const;

export const EXIT_CODES_HELP = `Exit codes:
  0  success
  1  error (Kafka error, broker unreachable, bad input, timeout)
  2  usage error (unknown command or option, invalid value)
  3  not found (topic, partition, group or user does not exist; no ACL or quota matched)`;
