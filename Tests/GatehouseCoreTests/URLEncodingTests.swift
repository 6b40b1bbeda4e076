import GatehouseCore
import Testing

@Suite("URL encoding")
struct URLEncodingTests {
    @Test func onlyUnreservedASCIIStaysAsItIs() {
        #expect(URLEncoding.component("a-Z_0.9~") == "a-Z_0.9~")
        #expect(URLEncoding.component("a b&c=d/é") == "a%20b%26c%3Dd%2F%C3%A9")
        #expect(URLEncoding.form("a b+c") == "a+b%2Bc")
    }

    @Test func pairsKeepTheirOrder() {
        #expect(URLEncoding.query([("state", "x y"), ("iss", "http://h")]) == "state=x%20y&iss=http%3A%2F%2Fh")
        #expect(URLEncoding.formBody([("scope", "a b"), ("code", "c")]) == "scope=a+b&code=c")
    }
}
