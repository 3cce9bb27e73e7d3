import Foundation
import Simul
import SimulJSON
import SimulTasks

/// Row 6, "Web scraping": crawl a local site breadth-first from its home page, parsing every page's title and
/// links.
struct ScrapingScenario: Scenario {
    let key = "scraping"
    let title = Phrase("Web scraping", "Web scraping")
    let advice = SeedAdvice(
        [.async, .threads], Phrase("I/O-bound, depends on the library", "I/O-bound, depende da lib"))

    func size(quick: Bool) -> (depth: Int, latency: Duration) {
        quick ? (2, .milliseconds(6)) : (3, .milliseconds(12))
    }

    var workload: Phrase {
        let (depth, latency) = size(quick: false)
        let pages = SiteMap(depth: depth).pageCount
        return Phrase(
            "crawl a local site of \(pages) HTML pages (\(latency.timeDescription) latency), parsing titles and links",
            "rastrear um site local de \(pages) páginas HTML (\(latency.timeDescription) de latência), extraindo "
                + "títulos e links")
    }

    func prepare(_ settings: TableSettings) async throws -> any ScenarioFixture {
        let (depth, latency) = size(quick: settings.quick)
        let site = SiteMap(depth: depth)
        let server = try await LocalHTTPServer.start(latency: latency) { _, path in
            guard let page = site.page(at: path) else {
                return HTTPResponse(status: 404, contentType: "text/html", body: Array("<h1>not found</h1>".utf8))
            }
            return HTTPResponse(contentType: "text/html; charset=utf-8", body: page)
        }
        return Fixture(server: server, settings: settings)
    }

    func note(_ verdict: Verdict, figures: [Model: Double]) -> Phrase {
        switch verdict.winner {
        case .async:
            return Phrase(
                "agrees: async overlaps a whole level of pages at once",
                "concorda: async busca um nível inteiro de uma vez")
        case .threads:
            return Phrase("agrees: threads overlap the waits", "concorda: threads sobrepõem as esperas")
        case .processes, .sequential:
            return Phrase("parsing outweighed the waits", "o parsing pesou mais que as esperas")
        }
    }

    struct Fixture: ScenarioFixture {
        let server: LocalHTTPServer
        let settings: TableSettings

        func run(_ model: Model) async throws -> Outcome {
            let port = server.port
            let crawl: Crawl
            switch model {
            case .sequential:
                crawl = try await Pools.onOneThread {
                    try Crawl.blocking { paths in try paths.map { try ScrapedPage.fetch(port: port, path: $0) } }
                }
            case .threads:
                crawl = try await Pools.withThreads(settings.ioThreads) { pool in
                    try await Crawl.run { paths in
                        try await Pools.map(paths, on: pool) { try ScrapedPage.fetch(port: port, path: $0) }
                    }
                }
            case .processes:
                crawl = try await Pools.withProcesses(settings.processes) { pool in
                    try await Crawl.run { paths in
                        try await Pools.map(paths.map { PageRequest(port: port, path: $0) }, on: pool, Scrape.self)
                    }
                }
            case .async:
                let base = server.baseURL
                crawl = try await AsyncHTTP.withClient(connections: settings.ioThreads * 4) { client in
                    try await Crawl.run { paths in
                        try await paths.concurrentMap(maxConcurrency: paths.count) { path in
                            ScrapedPage(html: try await AsyncHTTP.get(base + path, with: client))
                        }
                    }
                }
            }
            return Outcome(
                check: "pages=\(crawl.pages) links=\(crawl.links) titles=\(crawl.titles)",
                details: ["pages": .integer(Int64(crawl.pages)), "links": .integer(Int64(crawl.links))])
        }

        func tearDown() async throws { try await server.shutdown() }
    }
}

/// The local site: page 0 is home, page n links to its children 4n+1…4n+4, back to its parent and home, and to a
/// few pages off the site.
struct SiteMap: Sendable {
    var depth: Int

    var pageCount: Int { (0...depth).reduce(0) { $0 + Int(pow(4.0, Double($1))) } }

    func page(at path: String) -> [UInt8]? {
        guard path.hasPrefix("/pages/"), let number = Int(path.dropFirst("/pages/".count)),
            (0..<pageCount).contains(number)
        else { return nil }
        var random = SplitMix64(seed: UInt64(number) &+ 0x5C4A)
        var html = "<!doctype html><html><head><meta charset=\"utf-8\"><title>Receita \(number): bolo "
        html += ["de chocolate", "de cenoura", "de fubá", "de laranja"][number % 4] + "</title></head><body>\n"
        html += "<nav><a href=\"/pages/0\">início</a> <a href=\"https://example.com/sobre\">sobre</a>"
        if number > 0 { html += " <a href=\"/pages/\((number - 1) / 4)\">voltar</a>" }
        html += "</nav>\n<ul>\n"
        for child in (4 * number + 1)...(4 * number + 4) where child < pageCount {
            html += "<li><a class=\"receita\" href=\"/pages/\(child)\">receita \(child)</a></li>\n"
        }
        html += "</ul>\n"
        for paragraph in 0..<40 {
            html += "<p id=\"p\(paragraph)\">"
            for _ in 0..<60 {
                html += ["farinha ", "ovos ", "açúcar ", "manteiga ", "leite ", "forno "][Int(random.next() % 6)]
            }
            html += "</p>\n"
        }
        return Array((html + "</body></html>\n").utf8)
    }
}

/// What a scraper keeps of a page: its title and the site's links on it.
struct ScrapedPage: Codable, Sendable {
    var title: String
    var links: [String]

    /// Parses the page's tags: the text of `<title>`, and the `href` of every `<a>` that stays on the site.
    init(html: [UInt8]) {
        var title = ""
        var links: [String] = []
        html.withUnsafeBufferPointer { html in
            var index = 0
            while let open = Self.find(UInt8(ascii: "<"), in: html, from: index) {
                guard let close = Self.find(UInt8(ascii: ">"), in: html, from: open) else { break }
                let tag = html[(open + 1)..<close]
                let name = tag.prefix { $0 != UInt8(ascii: " ") && $0 != UInt8(ascii: "/") }
                if name.elementsEqual("title".utf8), let end = Self.find(UInt8(ascii: "<"), in: html, from: close) {
                    title = String(decoding: html[(close + 1)..<end], as: UTF8.self)
                } else if name.elementsEqual("a".utf8), let link = Self.attribute("href", in: tag), link.first == "/" {
                    links.append(link)
                }
                index = close + 1
            }
        }
        self.title = title
        self.links = links
    }

    private static func find(_ byte: UInt8, in html: UnsafeBufferPointer<UInt8>, from start: Int) -> Int? {
        var index = start
        while index < html.count {
            if html[index] == byte { return index }
            index += 1
        }
        return nil
    }

    /// The value of `name="…"` in a tag's bytes.
    private static func attribute(_ name: String, in tag: Slice<UnsafeBufferPointer<UInt8>>) -> String? {
        let key = Array((name + "=\"").utf8)
        var index = tag.startIndex
        while index + key.count <= tag.endIndex {
            if tag[index..<index + key.count].elementsEqual(key) {
                let start = index + key.count
                guard let end = tag[start...].firstIndex(of: UInt8(ascii: "\"")) else { return nil }
                return String(decoding: tag[start..<end], as: UTF8.self)
            }
            index += 1
        }
        return nil
    }

    static func fetch(port: Int, path: String) throws -> ScrapedPage {
        ScrapedPage(html: try BlockingHTTP.get("http://127.0.0.1:\(port)\(path)", timeout: .seconds(30)))
    }
}

/// A breadth-first crawl from `/pages/0`, a level at a time: each level's pages are fetched together.
struct Crawl: Sendable {
    /// The paths to fetch next.
    private(set) var frontier = ["/pages/0"]
    private var seen: Set<String> = ["/pages/0"]
    private var found: [String: String] = [:]
    /// The site links seen on every page.
    private(set) var links = 0

    /// The pages crawled.
    var pages: Int { found.count }

    /// The CRC-32 of every title, in path order.
    var titles: CRC32 {
        var crc = CRC32()
        for path in found.keys.sorted() { crc.update(Array(found[path]!.utf8)) }
        return crc
    }

    /// Takes in the frontier's pages, and makes their new links the next frontier.
    mutating func absorb(_ pages: [ScrapedPage]) {
        var next: [String] = []
        for (path, page) in zip(frontier, pages) {
            found[path] = page.title
            links += page.links.count
            for link in page.links where seen.insert(link).inserted { next.append(link) }
        }
        frontier = next
    }

    static func run(_ fetch: ([String]) async throws -> [ScrapedPage]) async throws -> Crawl {
        var crawl = Crawl()
        while !crawl.frontier.isEmpty { crawl.absorb(try await fetch(crawl.frontier)) }
        return crawl
    }

    /// ``run(_:)`` for a blocking fetch, on the calling thread.
    static func blocking(_ fetch: ([String]) throws -> [ScrapedPage]) throws -> Crawl {
        var crawl = Crawl()
        while !crawl.frontier.isEmpty { crawl.absorb(try fetch(crawl.frontier)) }
        return crawl
    }
}

/// One page for a worker to fetch.
struct PageRequest: Codable, Sendable {
    var port: Int
    var path: String
}

/// The worker side of the scraping row: fetch and parse one page.
struct Scrape: ProcessTask {
    static let name = "table.scrape"

    static func run(_ input: PageRequest) throws -> ScrapedPage {
        try ScrapedPage.fetch(port: input.port, path: input.path)
    }
}
