package sqlstore

import (
	"context"
	"fmt"

	"github.com/veil-id/veil"
)

var _ veil.GroupStore = (*DB)(nil)

// AccountGroups returns the groups of account accountID, sorted.
func (db *DB) AccountGroups(ctx context.Context, accountID string) ([]string, error) {
	rows, err := db.query(ctx, db.sql, `SELECT group_name FROM account_groups WHERE account_id = ? ORDER BY group_name`, accountID)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: finding an account's groups: %w", err)
	}
	defer rows.Close()
	groups := []string{}
	for rows.Next() {
		var g string
		if err := rows.Scan(&g); err != nil {
			return nil, fmt.Errorf("sqlstore: finding an account's groups: %w", err)
		}
		groups = append(groups, g)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlstore: finding an account's groups: %w", err)
	}
	return groups, nil
}

// ListGroups returns every group with a member, sorted by name.
func (db *DB) ListGroups(ctx context.Context) ([]veil.Group, error) {
	rows, err := db.query(ctx, db.sql, `SELECT group_name, COUNT(*) FROM account_groups GROUP BY group_name ORDER BY group_name`)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: listing groups: %w", err)
	}
	defer rows.Close()
	groups := []veil.Group{}
	for rows.Next() {
		var g veil.Group
		if err := rows.Scan(&g.Name, &g.Members); err != nil {
			return nil, fmt.Errorf("sqlstore: listing groups: %w", err)
		}
		groups = append(groups, g)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlstore: listing groups: %w", err)
	}
	return groups, nil
}

// AddAccountGroup puts account accountID into group; ENOTFOUND if there is
// no such account.
func (db *DB) AddAccountGroup(ctx context.Context, accountID, group string) error {
	if group == "" {
		return veil.Errorf(veil.EINVALID, "A group needs a name.")
	}
	// INSERT ... SELECT inserts nothing for a missing account, which the
	// foreign key would also refuse, but on every connection whatever
	// SQLite's foreign_keys says; ON CONFLICT keeps a repeat harmless.
	res, err := db.exec(ctx, db.sql, `
		INSERT INTO account_groups (account_id, group_name)
		SELECT id, ? FROM accounts WHERE id = ?
		ON CONFLICT (account_id, group_name) DO NOTHING`, group, accountID)
	if err != nil {
		return fmt.Errorf("sqlstore: adding an account to a group: %w", err)
	}
	if n, err := rowsAffected(res); err != nil {
		return err
	} else if n == 1 {
		return nil
	}
	var one int
	if err := db.queryRow(ctx, db.sql, `SELECT 1 FROM accounts WHERE id = ?`, accountID).Scan(&one); err != nil {
		return veil.Errorf(veil.ENOTFOUND, "No account has this ID.")
	}
	return nil
}

// RemoveAccountGroup takes account accountID out of group and reports
// whether it was in it.
func (db *DB) RemoveAccountGroup(ctx context.Context, accountID, group string) (bool, error) {
	res, err := db.exec(ctx, db.sql, `DELETE FROM account_groups WHERE account_id = ? AND group_name = ?`, accountID, group)
	if err != nil {
		return false, fmt.Errorf("sqlstore: removing an account from a group: %w", err)
	}
	n, err := rowsAffected(res)
	return n > 0, err
}
