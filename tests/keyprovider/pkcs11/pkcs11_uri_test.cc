// Pkcs11Uri: RFC 7512 parsing, percent-decoding, normalization and what is refused.
#include "keyprovider/pkcs11/pkcs11_uri.h"

#include <gtest/gtest.h>

namespace modelvault::keyprovider::pkcs11 {
namespace {

using T = Pkcs11Uri::ObjectType;

TEST(Pkcs11UriTest, ParsesPathAndQueryAttributes) {
  auto uri = Pkcs11Uri::Parse(
      "pkcs11:token=ops;manufacturer=SoftHSM%20project;serial=0123abcd;model=SoftHSM%20v2;"
      "library-manufacturer=L;library-description=D;library-version=2.6;slot-id=7;"
      "slot-description=S;slot-manufacturer=M;object=mv-kek;id=%01%ff;type=secret-key"
      "?module-path=/usr/lib/softhsm/libsofthsm2.so&module-name=softhsm2&pin-source=file:/p");
  ASSERT_TRUE(uri.ok()) << uri.status().ToString();
  EXPECT_EQ(uri->token, "ops");
  EXPECT_EQ(uri->manufacturer, "SoftHSM project");
  EXPECT_EQ(uri->serial, "0123abcd");
  EXPECT_EQ(uri->model, "SoftHSM v2");
  EXPECT_EQ(uri->library_manufacturer, "L");
  EXPECT_EQ(uri->library_description, "D");
  EXPECT_EQ(uri->library_version, "2.6");
  EXPECT_EQ(uri->slot_id, 7u);
  EXPECT_EQ(uri->slot_description, "S");
  EXPECT_EQ(uri->slot_manufacturer, "M");
  EXPECT_EQ(uri->object, "mv-kek");
  EXPECT_EQ(uri->id, (std::vector<uint8_t>{0x01, 0xff}));
  EXPECT_EQ(uri->type, T::kSecretKey);
  EXPECT_EQ(uri->module_path, "/usr/lib/softhsm/libsofthsm2.so");
  EXPECT_EQ(uri->module_name, "softhsm2");
  EXPECT_EQ(uri->pin_source, "file:/p");
}

TEST(Pkcs11UriTest, PercentDecodingGivesOctets) {
  auto uri = Pkcs11Uri::Parse("pkcs11:token=a%3bb%3Dc%25;object=%e2%82%ac;id=A");
  ASSERT_TRUE(uri.ok()) << uri.status().ToString();
  EXPECT_EQ(uri->token, "a;b=c%");
  EXPECT_EQ(uri->object, "\xe2\x82\xac");
  EXPECT_EQ(uri->id, std::vector<uint8_t>{'A'});
}

TEST(Pkcs11UriTest, EmptyUriAndSchemeCase) {
  auto empty = Pkcs11Uri::Parse("pkcs11:");
  ASSERT_TRUE(empty.ok());
  EXPECT_FALSE(empty->token || empty->object || empty->id || empty->type);
  auto upper = Pkcs11Uri::Parse("PKCS11:token=a");
  ASSERT_TRUE(upper.ok());
  EXPECT_EQ(upper->token, "a");
  auto empty_value = Pkcs11Uri::Parse("pkcs11:object=");
  ASSERT_TRUE(empty_value.ok());
  EXPECT_EQ(empty_value->object, "");
}

TEST(Pkcs11UriTest, EveryObjectType) {
  const std::pair<const char*, T> types[] = {{"private", T::kPrivate},
                                             {"public", T::kPublic},
                                             {"secret-key", T::kSecretKey},
                                             {"cert", T::kCert},
                                             {"data", T::kData}};
  for (const auto& [text, type] : types) {
    auto uri = Pkcs11Uri::Parse(std::string("pkcs11:type=") + text);
    ASSERT_TRUE(uri.ok()) << text;
    EXPECT_EQ(uri->type, type);
  }
}

TEST(Pkcs11UriTest, ToStringIsNormalizedAndDropsQueryAttributes) {
  auto uri = Pkcs11Uri::Parse(
      "pkcs11:type=private;id=%0A%0b;object=my%20key;slot-id=3;token=My%20Token%3b"
      "?module-path=/x.so&pin-source=file:/p");
  ASSERT_TRUE(uri.ok()) << uri.status().ToString();
  std::string text = uri->ToString();
  EXPECT_EQ(text, "pkcs11:token=My%20Token%3B;slot-id=3;object=my%20key;id=%0A%0B;type=private");
  auto again = Pkcs11Uri::Parse(text);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->ToString(), text);
  EXPECT_EQ(again->token, "My Token;");
  EXPECT_FALSE(again->module_path);
}

TEST(Pkcs11UriTest, UnknownPathAttributeIsRefusedByName) {
  auto uri = Pkcs11Uri::Parse("pkcs11:tokn=ops;object=k");
  EXPECT_EQ(uri.status().code(), Code::kInvalidArgument);
  EXPECT_NE(uri.status().message().find("\"tokn\""), std::string::npos) << uri.status().message();
}

TEST(Pkcs11UriTest, UnknownQueryAttributeIsIgnored) {
  auto uri = Pkcs11Uri::Parse("pkcs11:token=a?x-vendor=1&other=2");
  ASSERT_TRUE(uri.ok()) << uri.status().ToString();
  EXPECT_EQ(uri->token, "a");
}

TEST(Pkcs11UriTest, PinValueIsRefusedWithoutEchoingIt) {
  for (const char* text : {"pkcs11:token=a;object=k?pin-value=s3cr3t-1234",
                           "pkcs11:token=a;pin-value=s3cr3t-1234;object=k",
                           "pkcs11:token=a?module-path=/x.so&pin-value=s3cr3t-1234"}) {
    auto uri = Pkcs11Uri::Parse(text);
    EXPECT_EQ(uri.status().code(), Code::kInvalidArgument) << text;
    EXPECT_NE(uri.status().message().find("--pin-file"), std::string::npos);
    EXPECT_EQ(uri.status().message().find("s3cr3t"), std::string::npos) << uri.status().message();
  }
}

TEST(Pkcs11UriTest, MalformedUrisAreRefused) {
  for (const char* text : {
           "token=a",                   // no scheme
           "pkcs11",                    // no colon
           "pkcs12:token=a",            // another scheme
           "pkcs11:token",              // no '='
           "pkcs11:=a",                 // no name
           "pkcs11:token=a;;object=b",  // empty attribute
           "pkcs11:token=a;",           // trailing separator
           "pkcs11:token=%G1",          // bad escape
           "pkcs11:token=%4",           // truncated escape
           "pkcs11:token=a b",          // space must be encoded
           "pkcs11:token=a/b",          // '/' only in the query
           "pkcs11:token=a#frag",       // no fragments
           "pkcs11:token=a;token=b",    // twice
           "pkcs11:type=key",           // not a type
           "pkcs11:slot-id=x",          // not a number
           "pkcs11:slot-id=",           // empty number
           "pkcs11:library-version=1.x",
           "pkcs11:token=a?module-path=/a&module-path=/b",
           "pkcs11:token=a?module-path=/a b",
       }) {
    auto uri = Pkcs11Uri::Parse(text);
    EXPECT_EQ(uri.status().code(), Code::kInvalidArgument) << text;
  }
}

TEST(Pkcs11UriTest, QueryMayHoldSlashesAndQuestionMarks) {
  auto uri = Pkcs11Uri::Parse("pkcs11:token=a?module-path=/opt/x?y/p11.so");
  ASSERT_TRUE(uri.ok()) << uri.status().ToString();
  EXPECT_EQ(uri->module_path, "/opt/x?y/p11.so");
}

}  // namespace
}  // namespace modelvault::keyprovider::pkcs11
