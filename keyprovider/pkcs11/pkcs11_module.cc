#include "keyprovider/pkcs11/pkcs11_module.h"

#include <dlfcn.h>
#include <unistd.h>

#include <cerrno>
#include <condition_variable>
#include <cstdio>
#include <map>

namespace modelvault::keyprovider::pkcs11 {
namespace {

// Where p11-kit's proxy module may live: the path pkg-config reported at build time (see
// CMakeLists.txt), then the loader's own search, then the usual non-multiarch places.
constexpr const char* kProxyCandidates[] = {
#ifdef MV_P11KIT_PROXY_MODULE
    MV_P11KIT_PROXY_MODULE,
#endif
    "p11-kit-proxy.so",
    "/usr/lib64/p11-kit-proxy.so",
    "/usr/lib/p11-kit-proxy.so",
};

// Live modules by dlopen handle. Held by Load and by ~Module so that a module being
// finalized cannot be initialized again half-way (see the header). An entry whose module
// is being destroyed stays until ~Module has called C_Finalize; Load waits for it on
// g_registry_cv rather than initialize a module that is about to be finalized.
std::mutex g_registry_mutex;
std::condition_variable g_registry_cv;
std::map<void*, std::weak_ptr<Module>>& Registry() {
  static auto* registry = new std::map<void*, std::weak_ptr<Module>>;
  return *registry;
}

Status LoadError(const std::string& path, const char* error) {
  std::string msg = "cannot load PKCS#11 module \"" + path + "\": " + (error ? error : "?");
  bool missing =
      path.find('/') != std::string::npos && access(path.c_str(), F_OK) != 0 && errno == ENOENT;
  return missing ? Status::NotFound(msg) : Status::InvalidArgument(msg);
}

}  // namespace

std::string RvName(CK_RV rv) {
  static const std::map<CK_RV, const char*> kNames = {
      {CKR_OK, "CKR_OK"},
      {CKR_HOST_MEMORY, "CKR_HOST_MEMORY"},
      {CKR_SLOT_ID_INVALID, "CKR_SLOT_ID_INVALID"},
      {CKR_GENERAL_ERROR, "CKR_GENERAL_ERROR"},
      {CKR_FUNCTION_FAILED, "CKR_FUNCTION_FAILED"},
      {CKR_ARGUMENTS_BAD, "CKR_ARGUMENTS_BAD"},
      {CKR_ATTRIBUTE_SENSITIVE, "CKR_ATTRIBUTE_SENSITIVE"},
      {CKR_ATTRIBUTE_TYPE_INVALID, "CKR_ATTRIBUTE_TYPE_INVALID"},
      {CKR_ATTRIBUTE_VALUE_INVALID, "CKR_ATTRIBUTE_VALUE_INVALID"},
      {CKR_DATA_INVALID, "CKR_DATA_INVALID"},
      {CKR_DATA_LEN_RANGE, "CKR_DATA_LEN_RANGE"},
      {CKR_DEVICE_ERROR, "CKR_DEVICE_ERROR"},
      {CKR_DEVICE_MEMORY, "CKR_DEVICE_MEMORY"},
      {CKR_DEVICE_REMOVED, "CKR_DEVICE_REMOVED"},
      {CKR_ENCRYPTED_DATA_INVALID, "CKR_ENCRYPTED_DATA_INVALID"},
      {CKR_ENCRYPTED_DATA_LEN_RANGE, "CKR_ENCRYPTED_DATA_LEN_RANGE"},
      {CKR_FUNCTION_NOT_SUPPORTED, "CKR_FUNCTION_NOT_SUPPORTED"},
      {CKR_KEY_HANDLE_INVALID, "CKR_KEY_HANDLE_INVALID"},
      {CKR_KEY_SIZE_RANGE, "CKR_KEY_SIZE_RANGE"},
      {CKR_KEY_TYPE_INCONSISTENT, "CKR_KEY_TYPE_INCONSISTENT"},
      {CKR_KEY_FUNCTION_NOT_PERMITTED, "CKR_KEY_FUNCTION_NOT_PERMITTED"},
      {CKR_KEY_NOT_WRAPPABLE, "CKR_KEY_NOT_WRAPPABLE"},
      {CKR_KEY_UNEXTRACTABLE, "CKR_KEY_UNEXTRACTABLE"},
      {CKR_MECHANISM_INVALID, "CKR_MECHANISM_INVALID"},
      {CKR_MECHANISM_PARAM_INVALID, "CKR_MECHANISM_PARAM_INVALID"},
      {CKR_OBJECT_HANDLE_INVALID, "CKR_OBJECT_HANDLE_INVALID"},
      {CKR_OPERATION_ACTIVE, "CKR_OPERATION_ACTIVE"},
      {CKR_PIN_INCORRECT, "CKR_PIN_INCORRECT"},
      {CKR_PIN_LEN_RANGE, "CKR_PIN_LEN_RANGE"},
      {CKR_PIN_EXPIRED, "CKR_PIN_EXPIRED"},
      {CKR_PIN_LOCKED, "CKR_PIN_LOCKED"},
      {CKR_SESSION_HANDLE_INVALID, "CKR_SESSION_HANDLE_INVALID"},
      {CKR_TEMPLATE_INCOMPLETE, "CKR_TEMPLATE_INCOMPLETE"},
      {CKR_TEMPLATE_INCONSISTENT, "CKR_TEMPLATE_INCONSISTENT"},
      {CKR_TOKEN_NOT_PRESENT, "CKR_TOKEN_NOT_PRESENT"},
      {CKR_TOKEN_NOT_RECOGNIZED, "CKR_TOKEN_NOT_RECOGNIZED"},
      {CKR_USER_NOT_LOGGED_IN, "CKR_USER_NOT_LOGGED_IN"},
      {CKR_USER_ALREADY_LOGGED_IN, "CKR_USER_ALREADY_LOGGED_IN"},
      {CKR_USER_PIN_NOT_INITIALIZED, "CKR_USER_PIN_NOT_INITIALIZED"},
      {CKR_UNWRAPPING_KEY_HANDLE_INVALID, "CKR_UNWRAPPING_KEY_HANDLE_INVALID"},
      {CKR_WRAPPED_KEY_INVALID, "CKR_WRAPPED_KEY_INVALID"},
      {CKR_WRAPPED_KEY_LEN_RANGE, "CKR_WRAPPED_KEY_LEN_RANGE"},
      {CKR_WRAPPING_KEY_HANDLE_INVALID, "CKR_WRAPPING_KEY_HANDLE_INVALID"},
      {CKR_BUFFER_TOO_SMALL, "CKR_BUFFER_TOO_SMALL"},
      {CKR_CRYPTOKI_NOT_INITIALIZED, "CKR_CRYPTOKI_NOT_INITIALIZED"},
      {CKR_CRYPTOKI_ALREADY_INITIALIZED, "CKR_CRYPTOKI_ALREADY_INITIALIZED"},
  };
  auto it = kNames.find(rv);
  if (it != kNames.end()) return it->second;
  char text[32];
  std::snprintf(text, sizeof(text), "CKR_0x%lx", static_cast<unsigned long>(rv));
  return text;
}

bool IsDeviceError(CK_RV rv) {
  switch (rv) {
    case CKR_HOST_MEMORY:
    case CKR_DEVICE_ERROR:
    case CKR_DEVICE_MEMORY:
    case CKR_DEVICE_REMOVED:
    case CKR_TOKEN_NOT_PRESENT:
    case CKR_SESSION_CLOSED:
      return true;
    default:
      return false;
  }
}

Status RvError(std::string_view what, CK_RV rv) {
  std::string msg = std::string(what) + " failed: " + RvName(rv);
  return IsDeviceError(rv) ? Status::IOError(msg) : Status::Internal(msg);
}

std::string FixedString(std::span<const unsigned char> field) {
  std::string text(field.begin(), field.end());
  size_t end = text.find_last_not_of(' ');
  text.resize(end == std::string::npos ? 0 : end + 1);
  // Some modules NUL-terminate instead of padding.
  return text.substr(0, text.find('\0'));
}

void Module::DlCloser::operator()(void* handle) const { dlclose(handle); }

Result<std::shared_ptr<Module>> Module::Load(const std::string& path) {
  std::vector<std::string> candidates;
  if (path.empty()) {
    candidates.assign(std::begin(kProxyCandidates), std::end(kProxyCandidates));
  } else {
    candidates.push_back(path);
  }
  DlHandle handle;
  std::string loaded;
  std::string first_error;
  for (const std::string& candidate : candidates) {
    handle.reset(dlopen(candidate.c_str(), RTLD_NOW | RTLD_LOCAL));
    if (handle) {
      loaded = candidate;
      break;
    }
    if (!path.empty()) return LoadError(candidate, dlerror());
    if (first_error.empty()) first_error = dlerror();
  }
  if (!handle) {
    return Status::NotFound("p11-kit's proxy module (p11-kit-proxy.so) cannot be loaded (" +
                            first_error + "); install p11-kit or give the module's path");
  }
  std::unique_lock<std::mutex> lock(g_registry_mutex);
  auto& registry = Registry();
  for (auto it = registry.find(handle.get()); it != registry.end();
       it = registry.find(handle.get())) {
    // dlopen counts references, so dropping ours leaves the shared instance's handle valid.
    if (std::shared_ptr<Module> live = it->second.lock()) return live;
    g_registry_cv.wait(lock);
  }
  auto get_list = reinterpret_cast<CK_C_GetFunctionList>(dlsym(handle.get(), "C_GetFunctionList"));
  if (get_list == nullptr) {
    return Status::InvalidArgument("\"" + loaded +
                                   "\" is not a PKCS#11 module (no C_GetFunctionList)");
  }
  CK_FUNCTION_LIST* fn = nullptr;
  CK_RV rv = get_list(&fn);
  if (rv != CKR_OK || fn == nullptr) return RvError("C_GetFunctionList of " + loaded, rv);
  // No mutex callbacks: the module uses the OS's own locking.
  CK_C_INITIALIZE_ARGS args{};
  args.flags = CKF_OS_LOCKING_OK;
  rv = fn->C_Initialize(&args);
  if (rv != CKR_OK && rv != CKR_CRYPTOKI_ALREADY_INITIALIZED) {
    return RvError("C_Initialize of " + loaded, rv);
  }
  void* key = handle.get();
  std::shared_ptr<Module> module(
      new Module(loaded, std::move(handle), fn, rv != CKR_CRYPTOKI_ALREADY_INITIALIZED));
  registry[key] = module;
  return module;
}

Module::~Module() {
  {
    std::lock_guard<std::mutex> lock(g_registry_mutex);
    if (finalize_) fn_->C_Finalize(nullptr);
    Registry().erase(handle_.get());
  }
  g_registry_cv.notify_all();
  // handle_ is closed after the lock is released; the loader counts references.
}

Result<Session> Session::Open(std::shared_ptr<Module> module, CK_SLOT_ID slot) {
  CK_SESSION_HANDLE handle = 0;
  CK_RV rv = module->fn()->C_OpenSession(slot, CKF_SERIAL_SESSION, nullptr, nullptr, &handle);
  if (rv != CKR_OK) return RvError("C_OpenSession", rv);
  return Session(std::move(module), handle);
}

Session::~Session() {
  if (module_) module_->fn()->C_CloseSession(handle_);
}

Result<std::vector<uint8_t>> Session::Attribute(CK_OBJECT_HANDLE object,
                                                CK_ATTRIBUTE_TYPE type) const {
  CK_ATTRIBUTE attr{type, nullptr, 0};
  CK_RV rv = fn()->C_GetAttributeValue(handle_, object, &attr, 1);
  if (rv != CKR_OK) return RvError("C_GetAttributeValue", rv);
  std::vector<uint8_t> value(attr.ulValueLen);
  attr.pValue = value.data();
  rv = fn()->C_GetAttributeValue(handle_, object, &attr, 1);
  if (rv != CKR_OK) return RvError("C_GetAttributeValue", rv);
  value.resize(attr.ulValueLen);
  return value;
}

Result<SecretBytes> Session::SecretAttribute(CK_OBJECT_HANDLE object,
                                             CK_ATTRIBUTE_TYPE type) const {
  CK_ATTRIBUTE attr{type, nullptr, 0};
  CK_RV rv = fn()->C_GetAttributeValue(handle_, object, &attr, 1);
  if (rv != CKR_OK) return RvError("C_GetAttributeValue", rv);
  SecretBytes value(attr.ulValueLen);
  attr.pValue = value.data();
  rv = fn()->C_GetAttributeValue(handle_, object, &attr, 1);
  if (rv != CKR_OK) return RvError("C_GetAttributeValue", rv);
  if (attr.ulValueLen != value.size()) return Status::Internal("a key attribute changed size");
  return value;
}

Result<std::vector<CK_OBJECT_HANDLE>> Session::Find(std::span<CK_ATTRIBUTE> tmpl) const {
  CK_RV rv = fn()->C_FindObjectsInit(handle_, tmpl.data(), tmpl.size());
  if (rv != CKR_OK) return RvError("C_FindObjectsInit", rv);
  std::vector<CK_OBJECT_HANDLE> found;
  CK_OBJECT_HANDLE batch[16];
  CK_ULONG count = 0;
  while ((rv = fn()->C_FindObjects(handle_, batch, 16, &count)) == CKR_OK && count > 0) {
    found.insert(found.end(), batch, batch + count);
  }
  // Always finish the search, or the session stays busy with it.
  CK_RV final_rv = fn()->C_FindObjectsFinal(handle_);
  if (rv != CKR_OK) return RvError("C_FindObjects", rv);
  if (final_rv != CKR_OK) return RvError("C_FindObjectsFinal", final_rv);
  return found;
}

CK_RV Login::Open(const Session& session, const SecretBytes& pin, Login* out) {
  CK_RV rv = session.fn()->C_Login(session.handle(), CKU_USER, const_cast<CK_UTF8CHAR*>(pin.data()),
                                   pin.size());
  if (rv == CKR_OK) {
    *out = Login();
    out->fn_ = session.fn();
    out->session_ = session.handle();
  }
  return rv == CKR_USER_ALREADY_LOGGED_IN ? CKR_OK : rv;
}

Login& Login::operator=(Login&& other) noexcept {
  if (this != &other) {
    if (fn_) fn_->C_Logout(session_);
    fn_ = std::exchange(other.fn_, nullptr);
    session_ = std::exchange(other.session_, 0);
  }
  return *this;
}

Login::~Login() {
  if (fn_) fn_->C_Logout(session_);
}

}  // namespace modelvault::keyprovider::pkcs11
