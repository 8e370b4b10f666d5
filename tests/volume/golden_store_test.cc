// Reads the golden store in tests/golden/store, made once with tests/golden/golden.key and
// checked in, through the volume API alone. Any change to the on-disk format that would
// leave existing stores unreadable fails here.
#include <dirent.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include "base/file_util.h"
#include "keyprovider/key_provider.h"
#include "volume/dir_id.h"
#include "volume/file_content.h"
#include "volume/volume.h"

namespace modelvault::volume {
namespace {

const std::string kGolden = GOLDEN_DIR;

// The generator the golden files were written with.
std::string Pattern(size_t n, size_t k) {
  std::string out(n, '\0');
  for (size_t i = 0; i < n; ++i) out[i] = static_cast<char>((i * k + (i >> 8)) % 251);
  return out;
}

struct Tree {
  std::map<std::string, std::string> files;  // path -> content
  std::map<std::string, std::string> links;  // path -> target
  std::vector<std::string> dirs;
};

class GoldenStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto header = ReadVolumeHeader(kGolden + "/store");
    ASSERT_TRUE(header.ok()) << header.status().message();
    auto key = ReadSecretFile(kGolden + "/golden.key", 64);
    ASSERT_TRUE(key.ok()) << key.status().message();
    auto provider = keyprovider::NewKeyfileProvider(std::move(key).value());
    ASSERT_EQ(header->keyslots.size(), 1u);
    auto master = provider->Unlock(header->keyslots[0], header->volume_id);
    ASSERT_TRUE(master.ok()) << master.status().message();
    auto vol = Volume::Open(kGolden + "/store", *master);
    ASSERT_TRUE(vol.ok()) << vol.status().message();
    volume_ = std::move(vol).value();
  }

  // Walks one backing directory, decoding names, contents and link targets.
  void Walk(const std::string& backing, const std::string& plain, Tree* tree) {
    UniqueFd dfd(open(backing.c_str(), O_RDONLY | O_DIRECTORY));
    ASSERT_TRUE(dfd.valid()) << backing;
    auto dir_id = ReadDirId(dfd.get(), backing);
    ASSERT_TRUE(dir_id.ok()) << dir_id.status().message();
    DIR* dir = opendir(backing.c_str());
    ASSERT_NE(dir, nullptr);
    std::vector<std::string> names;
    while (dirent* e = readdir(dir)) names.emplace_back(e->d_name);
    closedir(dir);
    for (const auto& name : names) {
      if (name == "." || name == "..") continue;
      auto kind = NameCodec::Classify(name);
      if (kind == NameCodec::EntryKind::kInternal) continue;
      std::string sealed = name;
      if (kind == NameCodec::EntryKind::kLong) {
        auto bytes = ReadFileBytes(backing + "/" + NameCodec::LongNameSidecar(name), 4096);
        ASSERT_TRUE(bytes.ok());
        sealed.assign(bytes->begin(), bytes->end());
      }
      auto decoded = volume_->names().Decode(*dir_id, sealed);
      ASSERT_TRUE(decoded.ok()) << name << ": " << decoded.status().message();
      std::string child = plain + "/" + *decoded;
      std::string child_backing = backing + "/" + name;
      struct stat st;
      ASSERT_EQ(lstat(child_backing.c_str(), &st), 0);
      if (S_ISDIR(st.st_mode)) {
        tree->dirs.push_back(child);
        Walk(child_backing, child, tree);
      } else if (S_ISLNK(st.st_mode)) {
        char buf[4096];
        ssize_t n = readlink(child_backing.c_str(), buf, sizeof(buf));
        ASSERT_GT(n, 0);
        auto target = volume_->names().DecodeLinkTarget(std::string_view(buf, n));
        ASSERT_TRUE(target.ok());
        tree->links[child] = *target;
      } else {
        UniqueFd fd(open(child_backing.c_str(), O_RDONLY));
        auto content = FileContent::Load(fd.get(), volume_->keys(), volume_->layout(), child);
        ASSERT_TRUE(content.ok()) << content.status().message();
        auto size = (*content)->Size(fd.get());
        ASSERT_TRUE(size.ok());
        std::string data(*size, '\0');
        auto n =
            (*content)->Read(fd.get(), {reinterpret_cast<uint8_t*>(data.data()), data.size()}, 0);
        ASSERT_TRUE(n.ok()) << n.status().message();
        tree->files[child] = data;
      }
    }
  }

  std::unique_ptr<Volume> volume_;
};

TEST_F(GoldenStoreTest, HeaderKeepsItsParameters) {
  const auto& h = volume_->header();
  EXPECT_EQ(h.version, 1);
  EXPECT_EQ(h.cipher, "AES-256-GCM");
  EXPECT_EQ(h.name_cipher, "AES-256-SIV");
  EXPECT_EQ(h.block_size, 4096u);
}

TEST_F(GoldenStoreTest, EveryEntryDecodesToTheOriginalTree) {
  Tree tree;
  Walk(kGolden + "/store", "", &tree);
  std::string long_name = "/long-name-" + std::string(200, 'x') + ".txt";
  std::map<std::string, std::string> want_files = {
      {"/models/tiny-llama/config.json", "{\"model_type\": \"llama\", \"hidden_size\": 64}\n"},
      {"/models/tiny-llama/model.safetensors", Pattern(10000, 7)},
      {"/models/tiny-llama/exact-two-blocks.bin", Pattern(8192, 13)},
      {"/empty", ""},
      {long_name, "long name\n"},
  };
  EXPECT_EQ(tree.files, want_files);
  std::map<std::string, std::string> want_links = {
      {"/link-to-config", "models/tiny-llama/config.json"}};
  EXPECT_EQ(tree.links, want_links);
  std::sort(tree.dirs.begin(), tree.dirs.end());
  std::vector<std::string> want_dirs = {"/empty-dir", "/models", "/models/tiny-llama"};
  EXPECT_EQ(tree.dirs, want_dirs);
}

TEST_F(GoldenStoreTest, BackingSizesFollowTheLayout) {
  // 10000 bytes at block size 4096: header + two full blocks + one of 1808 bytes.
  ContentLayout layout(4096);
  EXPECT_EQ(layout.BackingSize(10000), 32u + 2 * (4096 + 28) + 1808 + 28);
  EXPECT_EQ(layout.BackingSize(8192), 32u + 2 * (4096 + 28));
  EXPECT_EQ(layout.BackingSize(0), 32u);
}

}  // namespace
}  // namespace modelvault::volume
