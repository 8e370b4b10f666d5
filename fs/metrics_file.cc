#include "fs/metrics_file.h"

#include <unistd.h>

#include <sstream>

#include "base/file_util.h"
#include "base/log.h"
#include "fs/mount_counters.h"

namespace modelvault::fs {
namespace {

// Label values are quoted; the exposition format escapes backslash, quote and newline.
std::string Escape(const std::string& value) {
  std::string out;
  for (char c : value) {
    if (c == '\\' || c == '"') out.push_back('\\');
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out.push_back(c);
  }
  return out;
}

class Exposition {
 public:
  explicit Exposition(const nlohmann::json& status)
      : labels_("mountpoint=\"" + Escape(status.at("mountpoint").get<std::string>()) +
                "\",backing=\"" + Escape(status.at("backing").get<std::string>()) + "\"") {}

  // One family with one sample; `extra` labels (already formatted) go after the common ones.
  void Family(const char* name, const char* type, const char* help, const nlohmann::json& value,
              const std::string& extra = "") {
    Header(name, type, help);
    Sample(name, value, extra);
  }
  void Header(const char* name, const char* type, const char* help) {
    out_ << "# HELP " << name << ' ' << help << "\n# TYPE " << name << ' ' << type << '\n';
  }
  void Sample(const char* name, const nlohmann::json& value, const std::string& extra = "") {
    out_ << name << '{' << labels_ << (extra.empty() ? "" : ",") << extra << "} ";
    if (value.is_boolean()) {
      out_ << (value.get<bool>() ? 1 : 0);
    } else {
      out_ << value.dump();
    }
    out_ << '\n';
  }
  std::string str() const { return out_.str(); }

 private:
  const std::string labels_;
  std::ostringstream out_;
};

}  // namespace

std::string MetricsText(const nlohmann::json& status, bool up) {
  Exposition e(status);
  const nlohmann::json& c = status.at("counters");
  e.Family("modelvault_up", "gauge",
           "1 while the mount daemon serves; 0 in the file it leaves when the mount ends.", up);
  const nlohmann::json& unlock = status.at("unlock");
  e.Family("modelvault_info", "gauge",
           "Always 1; the labels say which program and format version serve the store and "
           "which keyslot opened it.",
           1,
           "version=\"" + Escape(status.at("version").get<std::string>()) + "\",format_version=\"" +
               status.at("format_version").dump() + "\",keyslot=\"" + unlock.at("keyslot").dump() +
               "\",keyslot_type=\"" + Escape(unlock.at("type").get<std::string>()) + "\"");
  e.Family("modelvault_read_only", "gauge", "1 if the store is mounted read-only.",
           status.at("read_only"));
  e.Family("modelvault_signatures_required", "gauge",
           "1 if files outside a validly signed directory cannot be opened.",
           status.at("signatures").at("required"));
  e.Family("modelvault_start_time_seconds", "gauge",
           "When the mount daemon started serving, in seconds since the Unix epoch.",
           status.at("start_time"));
  e.Family("modelvault_signed_directories", "gauge",
           "Signed directories the daemon has loaded (one is loaded when a file in it is "
           "first opened).",
           status.at("signed_directory_count"));
  e.Family("modelvault_read_requests_total", "counter", "Read requests served by the daemon.",
           c.at("read_requests"));
  e.Family("modelvault_read_bytes_total", "counter", "Plaintext bytes read through the mount.",
           c.at("read_bytes"));
  e.Family("modelvault_write_requests_total", "counter", "Write requests served by the daemon.",
           c.at("write_requests"));
  e.Family("modelvault_written_bytes_total", "counter",
           "Plaintext bytes written through the mount.", c.at("written_bytes"));
  e.Family("modelvault_auth_failures_total", "counter",
           "Reads refused (EIO) because a block failed authentication: tampered or damaged "
           "backing data.",
           c.at("auth_failures"));
  e.Family("modelvault_denied_requests_total", "counter",
           "Requests the access gate refused (EACCES), all of them, including those the audit "
           "log's rate limit summarises.",
           c.at("denied_requests"));
  e.Header("modelvault_signature_failures_total", "counter",
           "Checks of signed directories that failed, by check.");
  for (std::string_view check : kSignatureChecks) {
    std::string name(check);
    e.Sample("modelvault_signature_failures_total", c.at("signature_failures").at(name),
             "check=\"" + name + "\"");
  }
  return e.str();
}

Result<std::unique_ptr<MetricsFile>> MetricsFile::Start(std::string path,
                                                        std::chrono::seconds interval,
                                                        StatusFn status) {
  std::unique_ptr<MetricsFile> file(new MetricsFile(std::move(path), interval, std::move(status)));
  MV_RETURN_IF_ERROR(file->Write(true));
  file->thread_ = std::thread([f = file.get()] { f->Run(); });
  return file;
}

MetricsFile::~MetricsFile() {
  if (thread_.joinable()) (void)Stop();
}

Status MetricsFile::Stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
  return Write(false);
}

Status MetricsFile::Write(bool up) {
  std::string text = MetricsText(status_(), up);
  // A temporary name of this process's own: a daemon mounting the store again may start
  // writing the same file while this one writes its final values. The textfile collector
  // reads only *.prom files, so it never sees a half-written one.
  Status st = WriteFileAtomically(
      path_, std::span(reinterpret_cast<const uint8_t*>(text.data()), text.size()), 0644,
      ".tmp." + std::to_string(getpid()));
  return st.ok() ? st : st.Annotate("metrics file " + path_);
}

void MetricsFile::Run() {
  std::unique_lock lock(mu_);
  while (!wake_.wait_for(lock, interval_, [this] { return stopping_; })) {
    lock.unlock();
    Status st = Write(true);
    // A full disk or a removed directory would repeat the same error every interval.
    if (!st.ok() && st.message() != last_error_) LogWarning(st.message());
    last_error_ = st.ok() ? "" : st.message();
    lock.lock();
  }
}

}  // namespace modelvault::fs
