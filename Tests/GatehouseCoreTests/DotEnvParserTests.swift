import GatehouseCore
import Testing

@Suite("The .env parser")
struct DotEnvParserTests {
    @Test func readsTheFormsTheSeedGuidesUse() throws {
        let values = try DotEnvParser.parse(
            """
            # AuthKit (WorkOS)
            WORKOS_AUTHKIT_DOMAIN=https://your-project-12345.authkit.app
            export HUB_BASE_URL="http://localhost:8884"
            HUB_PORT = 8884   # inline comment
            QUOTED='a # not a comment'

            EMPTY=
            """)
        #expect(
            values == [
                "WORKOS_AUTHKIT_DOMAIN": "https://your-project-12345.authkit.app",
                "HUB_BASE_URL": "http://localhost:8884", "HUB_PORT": "8884", "QUOTED": "a # not a comment", "EMPTY": "",
            ])
    }

    @Test func aMalformedLineNamesItsNumberButNotItsValue() {
        do {
            _ = try DotEnvParser.parse("A=1\nthis line holds a secret\n", fileName: "prod.env")
            Issue.record("a malformed line was accepted")
        } catch {
            #expect(error.key == "prod.env:2")
            #expect(!error.description.contains("secret"))
        }
    }

    @Test func keysMustBeIdentifiers() {
        #expect(throws: ConfigurationError.self) { try DotEnvParser.parse("1ABC=x") }
        #expect(throws: ConfigurationError.self) { try DotEnvParser.parse("A-B=x") }
    }
}
