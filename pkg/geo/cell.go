package geo

import "math"

// Cell is one cell of the grid CellKey lays over the Earth. Cells are
// comparable and can key a map or an index column.
type Cell struct {
	I, J int64 // row (south to north) and column (west to east)
}

// MinCellSize is the smallest cell size CellKey accepts, in metres; smaller
// cells would make the indexes overflow near the poles and serve no purpose.
const MinCellSize = 0.01

// invalidIndex is the row and column CellKey gives for input that is not a
// point or a size; no valid point has it.
const invalidIndex = math.MinInt64

// InvalidCell is the cell of invalid input.
var InvalidCell = Cell{invalidIndex, invalidIndex}

// CellKey returns the cell of about sizeMetres × sizeMetres holding (lat,
// lng), for finding reports near one another (duplicates of one problem):
// look up the cells of NeighbourKeys, then measure with Haversine.
//
// Rows are sizeMetres high. Each row is cut into columns of equal width in
// degrees, sized so that a column is at least sizeMetres wide even at the
// poleward edge of the next row out; a column is therefore slightly wider
// than sizeMetres (0.003 % at 31°N for 150 m cells). That is what makes
// NeighbourKeys complete. Columns of different rows do not line up, and
// columns do not wrap at the antimeridian, which no place gridflow serves is
// near.
//
// Invalid input (see Valid; a size below MinCellSize, infinite or NaN) gives
// the row and column of InvalidCell.
func CellKey(lat, lng, sizeMetres float64) (i, j int64) {
	if Valid(lat, lng) != nil || !(sizeMetres >= MinCellSize) || math.IsInf(sizeMetres, 1) {
		return invalidIndex, invalidIndex
	}
	i = row(lat, sizeMetres)
	return i, column(i, lng, sizeMetres)
}

// NeighbourKeys returns the 3×3 block of cells around (lat, lng): in its own
// row and the rows north and south, the cell under the point's longitude and
// the ones west and east of it. It contains the cell of every point within
// sizeMetres (by Haversine) of (lat, lng), so a search over these nine cells
// misses nothing nearer than that. Invalid input gives nine InvalidCells.
func NeighbourKeys(lat, lng, sizeMetres float64) [9]Cell {
	var cells [9]Cell
	i, _ := CellKey(lat, lng, sizeMetres)
	if i == invalidIndex {
		for k := range cells {
			cells[k] = InvalidCell
		}
		return cells
	}
	k := 0
	for r := i - 1; r <= i+1; r++ {
		c := column(r, lng, sizeMetres)
		for j := c - 1; j <= c+1; j++ {
			cells[k] = Cell{I: r, J: j}
			k++
		}
	}
	return cells
}

func row(lat, size float64) int64 {
	return int64(math.Floor(lat / (size / metresPerDegree)))
}

func column(i int64, lng, size float64) int64 {
	return int64(math.Floor(lng / columnWidth(i, size)))
}

// columnWidth is row i's column width in degrees. A point within size metres
// lies in a row at most one away, and its longitude differs by at most
// size / (metresPerDegree · cos φ) for φ the larger |latitude| of the two, so
// the width is computed at the poleward edge of the next row out, with a
// margin of 10⁻⁶ for the sphere's second-order terms and rounding.
func columnWidth(i int64, size float64) float64 {
	dLat := size / metresPerDegree
	edge := (math.Abs(float64(i)) + 2) * dLat
	if edge >= 89.9 {
		return 360 // one column around the pole
	}
	return math.Min(360, size*(1+1e-6)/(metresPerDegree*math.Cos(rad(edge))))
}
