package models

import (
	"errors"
	"fmt"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// KV is a tiny key/value table for single values the application keeps,
// such as the head of the audit chain.
type KV struct {
	Key   string `gorm:"primaryKey;size:100"`
	Value string
}

// kvGet reads key inside tx. It reports ok=false when the key is absent.
func kvGet(tx *gorm.DB, key string) (value string, ok bool, err error) {
	var kv KV
	err = tx.Where(clause.Eq{Column: clause.Column{Name: "key"}, Value: key}).Take(&kv).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("read %s: %w", key, err)
	}
	return kv.Value, true, nil
}

// kvSet writes key inside tx, replacing any earlier value.
func kvSet(tx *gorm.DB, key, value string) error {
	// An upsert keeps this one statement on both SQLite and PostgreSQL.
	err := tx.Clauses(clause.OnConflict{
		Columns:   []clause.Column{{Name: "key"}},
		DoUpdates: clause.AssignmentColumns([]string{"value"}),
	}).Create(&KV{Key: key, Value: value}).Error
	if err != nil {
		return fmt.Errorf("write %s: %w", key, err)
	}
	return nil
}
