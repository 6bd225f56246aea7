import Foundation

/// Who this process acts as, for the records that name it: the lock's holder and each
/// revision's author.
public enum Identity {
    /// `$USER`, else the password database's name for this uid (a container's user has no
    /// `$USER`), else "uid N"; and the host name.
    public static func current() -> (user: String, host: String) {
        var user = ProcessInfo.processInfo.environment["USER"] ?? ""
        if user.isEmpty, let entry = getpwuid(getuid()), let name = entry.pointee.pw_name {
            user = String(cString: name)
        }
        return (user.isEmpty ? "uid \(getuid())" : user, ProcessInfo.processInfo.hostName)
    }
}
