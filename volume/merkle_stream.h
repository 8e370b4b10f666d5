// Internal to volume/: MerkleStream computes the Merkle root of manifest.h (MerkleRoot) over
// leaves that arrive one at a time, in memory logarithmic in their number, so that hashing
// or verifying a file of millions of blocks never holds all its leaves. Thread-compatible.
#pragma once

#include <cstdint>
#include <vector>

#include "crypto/hash.h"

namespace modelvault::volume::internal {

// SHA-256(0x01 || left || right): an inner node of the tree.
crypto::Digest MerkleNode(const crypto::Digest& left, const crypto::Digest& right);

class MerkleStream {
 public:
  void Add(const crypto::Digest& leaf);
  uint64_t count() const { return count_; }
  // The root of the leaves added so far; equal to MerkleRoot() over the same list.
  crypto::Digest Root() const;

 private:
  // Roots of complete subtrees of 2^height leaves, heights strictly decreasing: the binary
  // digits of count_. Pairing level by level with the odd node carried up gives the same
  // tree as folding these from the right.
  struct Subtree {
    crypto::Digest root;
    int height;
  };
  std::vector<Subtree> stack_;
  uint64_t count_ = 0;
};

}  // namespace modelvault::volume::internal
