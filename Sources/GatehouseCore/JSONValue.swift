import MCP

/// A JSON value: the MCP Swift SDK's `Value`, used for tool arguments, schemas and claims.
///
/// Gatehouse names it once here so that modules which talk JSON do not need to
/// import `MCP` (whose `Server`, `Client` and `RequestContext` names clash with
/// Hummingbird's).
public typealias JSONValue = MCP.Value
