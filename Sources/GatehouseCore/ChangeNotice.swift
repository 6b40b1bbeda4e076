/// What a store shared by several instances tells each of them about changes any of them made
/// (PostgreSQL's LISTEN/NOTIFY). A notice sent while an instance was not listening is lost, so
/// each time the feed listens (again) a holder of copies drops them.
public enum ChangeNotice<Subject: Sendable & Equatable>: Sendable, Equatable {
    /// The feed listens: from now on every change is reported; copies taken before may have
    /// missed one.
    case listening
    /// `subject` changed.
    case changed(Subject)
}
