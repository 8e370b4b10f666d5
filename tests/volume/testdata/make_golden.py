#!/usr/bin/env python3
"""Computes the golden values in tests/volume/golden.h from docs/FORMAT.md alone,
with Python's `cryptography` and `hashlib` rather than modelvault's code, so the C++ tests
check the implementation against an independent reading of the spec.

Run: python3 tests/volume/testdata/make_golden.py
"""
import base64
import hashlib
import hmac
import json

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

MASTER_KEY = bytes(range(32))
VOLUME_ID = bytes(range(0x10, 0x20))
KEYFILE = bytes([0xA5] * 32)
PASSPHRASE = b"correct horse battery staple"
FILE_ID = bytes(range(0x40, 0x50))
CREATED = "2026-11-26T00:30:00Z"


def hkdf(ikm, salt, info, length):
    return HKDF(hashes.SHA256(), length, salt, info).derive(ikm)


def canonical(obj):
    return json.dumps(obj, sort_keys=True, separators=(",", ":"))


def b64(data):
    return base64.b64encode(data).decode()


def seal_slot(slot, kek, nonce):
    slot = dict(slot, nonce=b64(nonce))
    aad = b"modelvault keyslot v1" + VOLUME_ID + canonical(slot).encode()
    slot["wrapped_key"] = b64(AESGCM(kek).encrypt(nonce, MASTER_KEY, aad))
    return slot


def main():
    salt0, nonce0 = bytes([1] * 16), bytes([2] * 12)
    slot0 = {"id": 0, "type": "keyfile", "created": CREATED, "kdf": "hkdf-sha256",
             "salt": b64(salt0)}
    slot0 = seal_slot(slot0, hkdf(KEYFILE, salt0, b"modelvault v1 keyfile-slot", 32), nonce0)

    salt1, nonce1 = bytes([3] * 16), bytes([4] * 12)
    slot1 = {"id": 1, "type": "passphrase", "created": CREATED, "kdf": "scrypt",
             "n": 1024, "r": 8, "p": 1, "salt": b64(salt1)}
    kek1 = hashlib.scrypt(PASSPHRASE, salt=salt1, n=1024, r=8, p=1, dklen=32)
    slot1 = seal_slot(slot1, kek1, nonce1)

    body = {"format": "modelvault", "version": 1, "volume_id": VOLUME_ID.hex(),
            "cipher": "AES-256-GCM", "name_cipher": "AES-256-SIV", "block_size": 65536,
            "created": CREATED, "keyslots": [slot0, slot1]}
    mac_key = hkdf(MASTER_KEY, None, b"modelvault v1 header-mac", 32)
    body["mac"] = b64(hmac.new(mac_key, canonical({k: v for k, v in body.items() if k != "mac"})
                               .encode(), hashlib.sha256).digest())
    print(json.dumps(body, indent=2, sort_keys=True))
    print("header-mac key", mac_key.hex())
    print("names key     ", hkdf(MASTER_KEY, None, b"modelvault v1 names", 64).hex())
    print("xattr key     ", hkdf(MASTER_KEY, None, b"modelvault v1 xattr", 32).hex())
    print("content key   ", hkdf(MASTER_KEY, None, b"modelvault v1 content" + FILE_ID, 32).hex())


if __name__ == "__main__":
    main()
