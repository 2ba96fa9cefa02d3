package geo

import (
	"bufio"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
)

// csvColumns maps the header names ParseCSV understands (lower case) to a field.
var csvColumns = map[string]string{
	"longitude": "lon", "lon": "lon", "lng": "lon",
	"latitude": "lat", "lat": "lat",
	"accuracy": "acc", "acc": "acc",
	"tracked_at": "time", "time": "time", "timestamp": "time",
	"elevation": "alt", "altitude": "alt", "alt": "alt", "ele": "alt",
	"speed":   "speed",
	"heading": "heading", "bearing": "heading", "course": "heading",
}

// ParseCSV reads fixes from a CSV file with a header row. The separator is ';' or ',',
// whichever the header has more of. Columns are found by header name, case-insensitively,
// in any order: longitude/lon/lng and latitude/lat (required); accuracy/acc;
// tracked_at/time/timestamp; elevation/altitude/alt/ele; speed; heading/bearing/course.
// Others are ignored. Times are RFC 3339 or "2006-01-02 15:04:05[.fraction]" (no zone =
// UTC); an empty time or number leaves the field unset. Rows keep file order.
func ParseCSV(r io.Reader) ([]Fix, error) {
	br := bufio.NewReader(r)
	header, err := br.ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("geo: csv: %w", err)
	}
	header = strings.TrimPrefix(header, "\ufeff")
	cr := csv.NewReader(io.MultiReader(strings.NewReader(header), br))
	cr.Comma = separator(header)
	cr.ReuseRecord = true
	names, err := cr.Read()
	if err != nil {
		return nil, fmt.Errorf("geo: csv: header: %w", err)
	}
	cols, err := findColumns(names)
	if err != nil {
		return nil, err
	}
	return readRows(cr, cols)
}

func separator(header string) rune {
	if strings.Count(header, ";") > strings.Count(header, ",") {
		return ';'
	}
	return ','
}

// findColumns returns the index of each known field, -1 where absent.
func findColumns(names []string) (map[string]int, error) {
	cols := map[string]int{"lon": -1, "lat": -1, "acc": -1, "time": -1, "alt": -1, "speed": -1, "heading": -1}
	for i, n := range names {
		if field, ok := csvColumns[strings.ToLower(strings.TrimSpace(n))]; ok && cols[field] < 0 {
			cols[field] = i
		}
	}
	if cols["lon"] < 0 || cols["lat"] < 0 {
		return nil, fmt.Errorf("geo: csv: header %q has no longitude and latitude columns", strings.Join(names, ","))
	}
	return cols, nil
}

func readRows(cr *csv.Reader, cols map[string]int) ([]Fix, error) {
	var fixes []Fix
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return fixes, nil
		}
		if err != nil {
			return nil, fmt.Errorf("geo: csv: %w", err)
		}
		f, err := csvFix(rec, cols)
		if err != nil {
			line, _ := cr.FieldPos(0)
			return nil, fmt.Errorf("geo: csv: line %d: %w", line, err)
		}
		fixes = append(fixes, f)
	}
}

func csvFix(rec []string, cols map[string]int) (Fix, error) {
	var f Fix
	col := func(field string) string { return column(rec, cols[field]) }
	err := parseNumbers([]numField{
		{"longitude", col("lon"), &f.Point[0], true}, {"latitude", col("lat"), &f.Point[1], true},
		{"accuracy", col("acc"), &f.Acc, false}, {"elevation", col("alt"), &f.Alt, false},
		{"speed", col("speed"), &f.Speed, false}, {"heading", col("heading"), &f.Heading, false},
	})
	if err != nil {
		return Fix{}, err
	}
	f.T, err = parseTime(col("time"))
	return f, err
}

// column is field i of rec, or "" if the column is absent.
func column(rec []string, i int) string {
	if i < 0 || i >= len(rec) {
		return ""
	}
	return rec[i]
}
