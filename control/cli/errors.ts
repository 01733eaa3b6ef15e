/** Bad flags or arguments: exit 2, like most Unix tools. */
export class UsageError extends Error {}

/** The API answered with an error (or could not be reached): exit 1 with its message and field paths. */
export class ApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly code: string,
  ) {
    super(message);
  }
}

/** A command ran but its outcome is a failure (a failed deployment, a timeout): exit 1. */
export class CommandFailed extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
  }
}
