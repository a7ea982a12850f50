// Package excelcsv writes CSV files that a spreadsheet opens as meant: UTF-8
// with a byte-order mark first (Excel on Windows reads a CSV without one in
// the system's code page, which garbles Chinese), and text cells that a
// spreadsheet would run as a formula — starting with =, +, -, @, a tab or a
// carriage return — prefixed with an apostrophe (OWASP's CSV injection
// guard). A cell that is a plain number stays as it is: it cannot be a
// formula, and -3 must remain a number.
package excelcsv

import (
	"encoding/csv"
	"io"
	"strconv"
)

// BOM is the UTF-8 byte-order mark written first.
const BOM = "\ufeff"

// Writer writes guarded records.
type Writer struct {
	w   *csv.Writer
	out io.Writer
	bom bool
}

// NewWriter returns a writer that writes the byte-order mark before the
// first record.
func NewWriter(w io.Writer) *Writer { return &Writer{w: csv.NewWriter(w), out: w} }

// Write writes one record, each cell guarded.
func (w *Writer) Write(record []string) error {
	if !w.bom {
		w.bom = true
		if _, err := io.WriteString(w.out, BOM); err != nil {
			return err
		}
	}
	out := make([]string, len(record))
	for i, c := range record {
		out[i] = Guard(c)
	}
	return w.w.Write(out)
}

// Flush writes buffered records and reports any error so far.
func (w *Writer) Flush() error {
	w.w.Flush()
	return w.w.Error()
}

// Guard makes a text cell inert: a cell starting with =, +, -, @, tab or
// carriage return, unless it is a number, is prefixed with an apostrophe.
func Guard(cell string) string {
	if cell == "" {
		return cell
	}
	switch cell[0] {
	case '=', '+', '-', '@', '\t', '\r':
		if _, err := strconv.ParseFloat(cell, 64); err == nil {
			return cell
		}
		return "'" + cell
	}
	return cell
}
