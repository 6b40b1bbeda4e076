import Foundation

/// Shows the user the authorization URL: opens the browser when asked and able, and always
/// prints the URL on a line of its own (stderr), so it can be copied or followed by a script.
enum BrowserLauncher {
    static func present(_ url: String, openBrowser: Bool, progress: Progress) {
        if openBrowser, launch(url) {
            progress("opened your browser to sign in; if it did not open, visit:")
        } else {
            progress("sign in at this URL:")
        }
        FileHandle.standardError.write(Data((url + "\n").utf8))
    }

    /// Opens `url` with the desktop's opener; false when there is no desktop or it fails.
    private static func launch(_ url: String) -> Bool {
        #if os(macOS)
        let opener = "/usr/bin/open"
        #else
        let opener = "/usr/bin/xdg-open"
        let environment = ProcessInfo.processInfo.environment
        guard environment["DISPLAY"] != nil || environment["WAYLAND_DISPLAY"] != nil else { return false }
        #endif
        guard FileManager.default.isExecutableFile(atPath: opener) else { return false }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: opener)
        process.arguments = [url]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        do {
            try process.run()
        } catch {
            return false
        }
        // The opener hands the URL to the browser and exits; a non-zero status means no browser.
        let deadline = Date().addingTimeInterval(3)
        while process.isRunning, Date() < deadline { usleep(50_000) }
        return process.isRunning || process.terminationStatus == 0
    }
}
