import Foundation
import GatehouseCore

/// Decodes request bodies into ``JSONValue`` exactly as written.
///
/// The MCP SDK's own `Value` decoder turns any string that looks like a `data:` URL
/// into binary data and re-encodes it differently, which would silently change a
/// tool argument such as `"data:,hello"`. This decoder keeps every string a string.
public enum JSONBody {
    /// Parses `data` as one JSON value.
    ///
    /// - Throws: ``JSONRPCError`` -32700 with the decoder's reason when the bytes are not JSON.
    public static func decode(_ data: Data) throws(JSONRPCError) -> JSONValue {
        do {
            return try JSONDecoder().decode(LosslessValue.self, from: data).value
        } catch let DecodingError.dataCorrupted(context) {
            throw .parseError(Self.reason(context))
        } catch {
            throw .parseError("the body is not valid JSON")
        }
    }

    private static func reason(_ context: DecodingError.Context) -> String {
        if let underlying = context.underlyingError as NSError?,
            let detail = underlying.userInfo[NSDebugDescriptionErrorKey] as? String
        {
            return detail
        }
        return context.debugDescription
    }
}

private struct LosslessValue: Decodable {
    let value: JSONValue

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            value = .null
        } else if let bool = try? container.decode(Bool.self) {
            value = .bool(bool)
        } else if let int = try? container.decode(Int.self) {
            value = .int(int)
        } else if let double = try? container.decode(Double.self) {
            value = .double(double)
        } else if let string = try? container.decode(String.self) {
            value = .string(string)
        } else if let array = try? container.decode([LosslessValue].self) {
            value = .array(array.map(\.value))
        } else {
            value = .object(try container.decode([String: LosslessValue].self).mapValues(\.value))
        }
    }
}
