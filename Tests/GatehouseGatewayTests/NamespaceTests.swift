import Testing

@testable import GatehouseGateway

@Suite struct NamespaceTests {
    let namespace = Namespace(upstreams: ["docs", "files", "main"], transparent: "main")

    @Test func prefixedNamesRoundTrip() {
        #expect(namespace.exposedName("search", of: "docs") == "docs_search")
        #expect(namespace.resolveName("docs_search")! == ("docs", "search"))
        // The first underscore ends the upstream name; the upstream's own may contain more.
        #expect(namespace.resolveName("docs_find_all_pages")! == ("docs", "find_all_pages"))
    }

    @Test func namesOutsideClaudesPatternGetAHashedValidName() throws {
        let dotted = try #require(namespace.exposedName("pages.read/v2", of: "docs"))
        #expect(Namespace.isValidName(dotted))
        #expect(dotted.hasPrefix("docs_pages-read-v2-"))
        #expect(namespace.resolveName(dotted)! == ("docs", "pages.read/v2"))
        let long = String(repeating: "x", count: 80)
        let shortened = try #require(namespace.exposedName(long, of: "docs"))
        #expect(shortened.utf8.count == 64)
        #expect(namespace.resolveName(shortened)! == ("docs", long))
        // Two long names sharing a stem stay distinct.
        #expect(namespace.exposedName(long + "a", of: "docs") != namespace.exposedName(long + "b", of: "docs"))
    }

    @Test func theTransparentUpstreamKeepsItsNamesUnlessTheyReadAsAnotherUpstreams() {
        #expect(namespace.exposedName("echo", of: "main") == "echo")
        #expect(namespace.resolveName("echo")! == ("main", "echo"))
        #expect(namespace.exposedName("docs_search", of: "main") == nil)
        #expect(namespace.resolveName("nobody_knows")! == ("main", "nobody_knows"))
        #expect(Namespace(upstreams: ["docs"], transparent: nil).resolveName("nobody_knows") == nil)
    }

    @Test func resourceURIsNameTheirUpstreamInTheScheme() {
        #expect(namespace.exposedURI("file:///srv/a.txt", of: "files") == "gatehouse+files:file:///srv/a.txt")
        #expect(namespace.resolveURI("gatehouse+files:file:///srv/a.txt")! == ("files", "file:///srv/a.txt"))
        #expect(namespace.resolveURI("gatehouse+nobody:x") == nil)
        #expect(namespace.exposedURI("docs://readme", of: "main") == "docs://readme")
        #expect(namespace.resolveURI("docs://readme")! == ("main", "docs://readme"))
    }
}
