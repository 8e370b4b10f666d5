// Log: the daemon's and tools' diagnostic channel. Lines go to stderr, or to syslog once
// UseSyslog() was called (a backgrounded daemon). Never pass key material or plaintext
// names here. Thread-safe.
#pragma once

#include <string_view>

namespace modelvault {

enum class LogLevel { kDebug, kInfo, kWarning, kError };

void Log(LogLevel level, std::string_view message);
inline void LogInfo(std::string_view m) { Log(LogLevel::kInfo, m); }
inline void LogWarning(std::string_view m) { Log(LogLevel::kWarning, m); }
inline void LogError(std::string_view m) { Log(LogLevel::kError, m); }
inline void LogDebug(std::string_view m) { Log(LogLevel::kDebug, m); }

void SetLogLevel(LogLevel min_level);
// Sends later lines to syslog with this identity instead of stderr.
void UseSyslog(const char* ident);

}  // namespace modelvault
