#include "crypto/signing_key.h"

#include <openssl/bio.h>
#include <openssl/buffer.h>
#include <openssl/core_names.h>
#include <openssl/pem.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <string_view>

#include "base/file_util.h"
#include "crypto/hash.h"
#include "crypto/hex.h"
#include "crypto/openssl_util.h"

namespace modelvault::crypto {
namespace {

using internal::BnPtr;
using internal::PkeyPtr;

struct BioDeleter {
  void operator()(BIO* b) const { BIO_free(b); }
};
using BioPtr = std::unique_ptr<BIO, BioDeleter>;

// A PEM key file is a few hundred bytes; the bound keeps a wrong path (a model file) cheap.
constexpr size_t kMaxPemSize = 64 * 1024;
constexpr size_t kP256CoordinateSize = 32;

// Never prompts: without a callback OpenSSL would ask for a passphrase on the terminal.
int NoPassphrase(char*, int, int, void*) { return -1; }

bool Contains(std::span<const uint8_t> text, std::string_view needle) {
  std::string_view view(reinterpret_cast<const char*>(text.data()), text.size());
  return view.find(needle) != std::string_view::npos;
}

// The file's text, or an error for files that cannot be the key asked for; `want` is
// "private" or "public".
Result<SecretBytes> ReadPem(const std::string& path, std::string_view want) {
  MV_ASSIGN_OR_RETURN(SecretBytes text, ReadSecretFile(path, kMaxPemSize));
  if (!Contains(text.span(), "-----BEGIN ")) {
    return Status::InvalidArgument(path + ": not a PEM file");
  }
  if (Contains(text.span(), "ENCRYPTED")) {
    return Status::Unsupported(path + ": encrypted PEM keys are not supported " +
                               "(decrypt it with `openssl pkey -in KEY -out PLAIN`)");
  }
  bool has_private = Contains(text.span(), "PRIVATE KEY-----");
  if (want == "private" && !has_private && Contains(text.span(), "PUBLIC KEY-----")) {
    return Status::InvalidArgument(path + ": holds a public key; the private key is needed");
  }
  if (want == "public" && has_private) {
    return Status::InvalidArgument(path +
                                   ": holds a private key; give the public key file instead");
  }
  return text;
}

BioPtr ReadOnlyBio(const SecretBytes& text) {
  return BioPtr(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())));
}

Status WrongType(const std::string& path, EVP_PKEY* pkey, std::string_view allowed) {
  const char* name = EVP_PKEY_get0_type_name(pkey);
  return Status::InvalidArgument(path + ": holds " + (name ? std::string(name) : "an unknown") +
                                 " key; expected " + std::string(allowed));
}

// PEM text of `pkey` (private or public) in a BIO whose memory is cleansed when freed.
Result<SecretBytes> ToPem(EVP_PKEY* pkey, bool private_key) {
  BioPtr bio(BIO_new(BIO_s_secmem()));
  if (!bio) return internal::OpenSslError("allocating a PEM buffer");
  int ok = private_key
               ? PEM_write_bio_PrivateKey(bio.get(), pkey, nullptr, nullptr, 0, nullptr, nullptr)
               : PEM_write_bio_PUBKEY(bio.get(), pkey);
  BUF_MEM* mem = nullptr;
  if (ok != 1 || BIO_get_mem_ptr(bio.get(), &mem) != 1 || mem == nullptr) {
    return internal::OpenSslError("writing a PEM key");
  }
  return SecretBytes::CopyOf({reinterpret_cast<const uint8_t*>(mem->data), mem->length});
}

Result<std::vector<uint8_t>> Ed25519Public(EVP_PKEY* pkey) {
  std::vector<uint8_t> out(Ed25519PrivateKey::kPublicKeySize);
  size_t len = out.size();
  if (EVP_PKEY_get_raw_public_key(pkey, out.data(), &len) != 1 || len != out.size()) {
    return internal::OpenSslError("reading an Ed25519 public key");
  }
  return out;
}

// 0x04 || X || Y, each coordinate padded to 32 bytes, whatever form the file used.
Result<std::vector<uint8_t>> P256Public(const std::string& path, EVP_PKEY* pkey) {
  char group[64] = {};
  size_t group_len = 0;
  if (EVP_PKEY_get_group_name(pkey, group, sizeof(group), &group_len) != 1 ||
      std::string_view(group) != "prime256v1") {
    ERR_clear_error();
    return Status::InvalidArgument(path + ": holds an EC key on curve " +
                                   (group[0] ? group : "(unknown)") + "; only P-256 is supported");
  }
  BIGNUM* x_raw = nullptr;
  BIGNUM* y_raw = nullptr;
  bool got = EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_EC_PUB_X, &x_raw) == 1 &&
             EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_EC_PUB_Y, &y_raw) == 1;
  BnPtr x(x_raw), y(y_raw);
  std::vector<uint8_t> out(1 + 2 * kP256CoordinateSize);
  out[0] = 0x04;
  if (!got || BN_bn2binpad(x.get(), out.data() + 1, kP256CoordinateSize) < 0 ||
      BN_bn2binpad(y.get(), out.data() + 1 + kP256CoordinateSize, kP256CoordinateSize) < 0) {
    return internal::OpenSslError(path + ": reading the P-256 public point");
  }
  return out;
}

Status FileAbsent(const std::string& path) {
  struct stat st;
  if (lstat(path.c_str(), &st) == 0) return Status::AlreadyExists(path + " already exists");
  if (errno != ENOENT) return Status::FromErrno(errno, path);
  return Status::Ok();
}

Status CreateExclusive(const std::string& path, std::span<const uint8_t> bytes, int mode) {
  Status st = WriteNewFile(path, bytes, mode);
  if (st.code() == Code::kIOError && st.ToErrno() == EEXIST) {
    return Status::AlreadyExists(path + " already exists");
  }
  return st;
}

}  // namespace

std::string SigningKeyId(std::span<const uint8_t> public_key) {
  return "sha256:" + HexEncode(Sha256(public_key));
}

Result<PublicSigningKey> GenerateSigningKeyFiles(const std::string& private_path,
                                                 const std::string& public_path) {
  if (private_path == public_path) {
    return Status::InvalidArgument("the private and public key files must differ");
  }
  // Checked first so that an existing public file does not cost a private file written and
  // removed again; the exclusive creates below still decide any race.
  MV_RETURN_IF_ERROR(FileAbsent(private_path));
  MV_RETURN_IF_ERROR(FileAbsent(public_path));
  PkeyPtr pkey(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"));
  if (!pkey) return internal::OpenSslError("generating an Ed25519 key");
  MV_ASSIGN_OR_RETURN(SecretBytes private_pem, ToPem(pkey.get(), true));
  MV_ASSIGN_OR_RETURN(SecretBytes public_pem, ToPem(pkey.get(), false));
  MV_ASSIGN_OR_RETURN(std::vector<uint8_t> raw, Ed25519Public(pkey.get()));
  MV_RETURN_IF_ERROR(CreateExclusive(private_path, private_pem.span(), 0600));
  Status st = CreateExclusive(public_path, public_pem.span(), 0644);
  if (!st.ok()) {
    unlink(private_path.c_str());
    return st;
  }
  return PublicSigningKey{kEd25519Algorithm, std::move(raw)};
}

Result<Ed25519PrivateKey> LoadSigningKeyPem(const std::string& path) {
  MV_ASSIGN_OR_RETURN(SecretBytes text, ReadPem(path, "private"));
  BioPtr bio = ReadOnlyBio(text);
  if (!bio) return internal::OpenSslError("reading " + path);
  PkeyPtr pkey(
      PEM_read_bio_PrivateKey_ex(bio.get(), nullptr, NoPassphrase, nullptr, nullptr, nullptr));
  if (!pkey) {
    Status st = internal::OpenSslError(path + ": not a readable PKCS#8 private key");
    return Status::InvalidArgument(st.message());
  }
  if (!EVP_PKEY_is_a(pkey.get(), "ED25519")) {
    return WrongType(path, pkey.get(), "an Ed25519 private key");
  }
  SecretBytes seed(Ed25519PrivateKey::kSeedSize);
  size_t len = seed.size();
  if (EVP_PKEY_get_raw_private_key(pkey.get(), seed.data(), &len) != 1 || len != seed.size()) {
    return internal::OpenSslError(path + ": reading the Ed25519 private key");
  }
  return Ed25519PrivateKey::FromSeed(seed);
}

Result<PublicSigningKey> LoadPublicKeyPem(const std::string& path) {
  MV_ASSIGN_OR_RETURN(SecretBytes text, ReadPem(path, "public"));
  BioPtr bio = ReadOnlyBio(text);
  if (!bio) return internal::OpenSslError("reading " + path);
  PkeyPtr pkey(PEM_read_bio_PUBKEY_ex(bio.get(), nullptr, NoPassphrase, nullptr, nullptr, nullptr));
  if (!pkey) {
    Status st = internal::OpenSslError(path + ": not a readable public key (SubjectPublicKeyInfo)");
    return Status::InvalidArgument(st.message());
  }
  if (EVP_PKEY_is_a(pkey.get(), "ED25519")) {
    MV_ASSIGN_OR_RETURN(std::vector<uint8_t> raw, Ed25519Public(pkey.get()));
    return PublicSigningKey{kEd25519Algorithm, std::move(raw)};
  }
  if (EVP_PKEY_is_a(pkey.get(), "EC")) {
    MV_ASSIGN_OR_RETURN(std::vector<uint8_t> raw, P256Public(path, pkey.get()));
    return PublicSigningKey{kEcdsaP256Algorithm, std::move(raw)};
  }
  return WrongType(path, pkey.get(), "an Ed25519 or EC P-256 public key");
}

}  // namespace modelvault::crypto
