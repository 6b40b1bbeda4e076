/// A store failure that passes: the database is down, busy or too slow to answer now. Callers
/// answer "try again in a few seconds" (503 with `Retry-After`, or a tool error saying so)
/// instead of reporting an internal error.
public protocol StoreUnavailable: Error {}
