package sqlstore

import (
	"testing"
	"time"
)

func TestRebind(t *testing.T) {
	tests := []struct {
		query                    string
		wantSQLite, wantPostgres string
	}{
		{"SELECT 1", "SELECT 1", "SELECT 1"},
		{"SELECT a FROM t WHERE b = ?", "SELECT a FROM t WHERE b = ?", "SELECT a FROM t WHERE b = $1"},
		{
			"INSERT INTO t (a, b, c) VALUES (?, ?, ?)",
			"INSERT INTO t (a, b, c) VALUES (?, ?, ?)",
			"INSERT INTO t (a, b, c) VALUES ($1, $2, $3)",
		},
		{
			"UPDATE t SET a=?,b=?,c=?,d=?,e=?,f=?,g=?,h=?,i=?,j=? WHERE k=?",
			"UPDATE t SET a=?,b=?,c=?,d=?,e=?,f=?,g=?,h=?,i=?,j=? WHERE k=?",
			"UPDATE t SET a=$1,b=$2,c=$3,d=$4,e=$5,f=$6,g=$7,h=$8,i=$9,j=$10 WHERE k=$11",
		},
	}
	sqlite := &DB{dialect: Dialect{Name: "sqlite"}}
	pg := &DB{dialect: Dialect{Name: "postgres", NumberedPlaceholders: true}}
	for _, tt := range tests {
		if got := sqlite.rebind(tt.query); got != tt.wantSQLite {
			t.Errorf("sqlite rebind(%q) = %q, want %q", tt.query, got, tt.wantSQLite)
		}
		if got := pg.rebind(tt.query); got != tt.wantPostgres {
			t.Errorf("postgres rebind(%q) = %q, want %q", tt.query, got, tt.wantPostgres)
		}
	}
}

func TestMicros(t *testing.T) {
	tests := []struct {
		in   time.Time
		want time.Time
	}{
		{time.Date(2026, 1, 2, 3, 4, 5, 123456789, time.UTC), time.Date(2026, 1, 2, 3, 4, 5, 123456000, time.UTC)},
		{time.Date(1969, 12, 31, 23, 59, 59, 999999999, time.UTC), time.Date(1969, 12, 31, 23, 59, 59, 999999000, time.UTC)},
		{time.Date(2026, 1, 2, 3, 4, 5, 0, time.FixedZone("X", 3600)), time.Date(2026, 1, 2, 2, 4, 5, 0, time.UTC)},
		{time.Time{}, time.Time{}},
	}
	for _, tt := range tests {
		got := fromMicros(toMicros(tt.in))
		if !got.Equal(tt.want) || got.Location() != time.UTC {
			t.Errorf("fromMicros(toMicros(%v)) = %v, want %v", tt.in, got, tt.want)
		}
	}
	if !fromMicros(toMicros(time.Time{})).IsZero() {
		t.Errorf("the zero time does not read back as zero")
	}
}
