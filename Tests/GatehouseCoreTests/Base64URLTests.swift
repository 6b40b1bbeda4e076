import Foundation
import GatehouseCore
import Testing

@Suite("Base64url")
struct Base64URLTests {
    @Test func roundTripsWithoutPadding() {
        let bytes = Data([0xFB, 0xFF, 0xBF, 0x00, 0x01])
        let text = Base64URL.encode(bytes)
        #expect(text == "-_-_AAE")
        #expect(Base64URL.decode(text) == bytes)
    }

    @Test func refusesPaddingAndUndecodableText() {
        #expect(Base64URL.decode("YQ==") == nil)
        #expect(Base64URL.decode("a") == nil)
        #expect(Base64URL.decode("a*b") == nil)
        #expect(Base64URL.isAlphabetCharacter(UInt8(ascii: "_")))
        #expect(!Base64URL.isAlphabetCharacter(UInt8(ascii: "+")))
    }
}
