// ProtoBlobTable: a SQLite table of serialized proto messages keyed by a text id, listed in the
// order first stored. The scheduler's experiment, plan and schedule stores are thin users.
#ifndef JEPALAB_COMMON_PROTO_BLOB_TABLE_H_
#define JEPALAB_COMMON_PROTO_BLOB_TABLE_H_

#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "common/sqlite_db.h"
#include "common/status_macros.h"

namespace jepalab::common {

// Table `<table> (<key_column> TEXT PRIMARY KEY, seq INTEGER NOT NULL, proto BLOB NOT NULL)`:
// seq is assigned on first insert and kept on update, so List() returns messages in the order
// their keys were first stored. Does not own the SqliteDb and is not thread-safe: the owning
// store serialises calls. Errors are SqliteDb's (see SqliteStatus); a record that does not
// parse is DataLoss naming the kind and key.
template <typename Message>
class ProtoBlobTable {
 public:
  // `table` and `key_column` are SQL identifiers (constants, never user input); `kind` names a
  // record in messages ("experiment" -> "experiment e-1 not found").
  ProtoBlobTable(SqliteDb* db, std::string table, std::string key_column, std::string kind)
      : db_(db),
        table_(std::move(table)),
        key_column_(std::move(key_column)),
        kind_(std::move(kind)) {}

  // The CREATE TABLE IF NOT EXISTS statement for SqliteDbOptions::schema.
  static std::string Schema(absl::string_view table, absl::string_view key_column) {
    return absl::StrCat("CREATE TABLE IF NOT EXISTS ", table, " (", key_column,
                        " TEXT PRIMARY KEY, seq INTEGER NOT NULL, proto BLOB NOT NULL);");
  }

  // Inserts or replaces the message stored under `key`; Internal if it does not serialize.
  absl::Status Put(absl::string_view key, const Message& message) {
    std::string blob;
    if (!message.SerializeToString(&blob)) {
      return absl::InternalError(absl::StrCat(kind_, " ", key, ": cannot serialize"));
    }
    // A new row gets the next seq; an update keeps its row's seq (the upsert leaves it alone).
    JEPALAB_ASSIGN_OR_RETURN(
        SqliteStatement put,
        db_->Prepare(absl::StrCat("INSERT INTO ", table_, " (", key_column_,
                                  ", seq, proto) VALUES (?1, (SELECT IFNULL(MAX(seq), 0) + 1 FROM ",
                                  table_, "), ?2) ON CONFLICT(", key_column_,
                                  ") DO UPDATE SET proto = excluded.proto;")));
    put.BindText(1, key);
    put.BindBlob(2, blob);
    return put.Run();
  }

  // NotFound "<kind> <key> not found" for an unknown key.
  absl::StatusOr<Message> Get(absl::string_view key) {
    JEPALAB_ASSIGN_OR_RETURN(
        SqliteStatement get,
        db_->Prepare(absl::StrCat("SELECT proto FROM ", table_, " WHERE ", key_column_, " = ?1;")));
    get.BindText(1, key);
    JEPALAB_ASSIGN_OR_RETURN(const bool row, get.Step());
    if (!row) return absl::NotFoundError(absl::StrCat(kind_, " ", key, " not found"));
    return Parse(key, get.Blob(0));
  }

  // Every message, in the order first stored.
  absl::StatusOr<std::vector<Message>> List() {
    JEPALAB_ASSIGN_OR_RETURN(SqliteStatement list,
                             db_->Prepare(absl::StrCat("SELECT ", key_column_, ", proto FROM ",
                                                       table_, " ORDER BY seq;")));
    std::vector<Message> messages;
    while (true) {
      JEPALAB_ASSIGN_OR_RETURN(const bool row, list.Step());
      if (!row) break;
      JEPALAB_ASSIGN_OR_RETURN(Message message, Parse(list.Text(0), list.Blob(1)));
      messages.push_back(std::move(message));
    }
    return messages;
  }

  // Removes the message stored under `key`; OK if there is none.
  absl::Status Delete(absl::string_view key) {
    JEPALAB_ASSIGN_OR_RETURN(
        SqliteStatement remove,
        db_->Prepare(absl::StrCat("DELETE FROM ", table_, " WHERE ", key_column_, " = ?1;")));
    remove.BindText(1, key);
    return remove.Run();
  }

 private:
  absl::StatusOr<Message> Parse(absl::string_view key, absl::string_view blob) const {
    Message message;
    if (!message.ParseFromArray(blob.data(), static_cast<int>(blob.size()))) {
      return absl::DataLossError(
          absl::StrCat(db_->name(), ": ", kind_, " ", key, ": stored record is corrupt"));
    }
    return message;
  }

  SqliteDb* db_;
  std::string table_;
  std::string key_column_;
  std::string kind_;
};

}  // namespace jepalab::common

#endif  // JEPALAB_COMMON_PROTO_BLOB_TABLE_H_
