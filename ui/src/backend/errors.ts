// The error every call in this folder throws (HTTP, sockets and desktop IPC alike). Its own module so
// that ./http.ts and ./desktop.ts can both throw it without importing each other.

/** An error answered by the API: match on `code`, never on `message`. */
export class ApiError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status: number,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}
