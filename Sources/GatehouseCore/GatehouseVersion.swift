/// The Gatehouse release this build is.
public enum Gatehouse {
    public static let version = "0.1.0"
}
