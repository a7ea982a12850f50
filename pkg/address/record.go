package address

import "strconv"

// Record is a normalised address as a case carries it: the text as given,
// the parts that place it, and its Key. It is what case.received publishes
// (gridflow.types.v1.Address) and what the services that keep an address
// store, so its json tags are a stored shape: rows written before them (Go
// field names, "Raw") read back because encoding/json matches keys
// case-insensitively.
type Record struct {
	Raw      string `json:"raw,omitempty"`
	District string `json:"district,omitempty"`
	Street   string `json:"street,omitempty"`
	Road     string `json:"road,omitempty"`
	Lane     int    `json:"lane,omitempty"`
	Number   int    `json:"number,omitempty"`
	Building string `json:"building,omitempty"`
	Room     string `json:"room,omitempty"`
	Compound string `json:"compound,omitempty"`
	Shop     string `json:"shop,omitempty"`
	Key      string `json:"key,omitempty"`
}

// Record returns the parts of a that a case records. Set the district with
// WithDistrict first where it is known from elsewhere: Key includes it.
func (a Address) Record() Record {
	r := Record{Raw: a.Raw, District: a.District, Street: a.Street, Road: a.Road, Lane: a.Lane, Number: a.Number,
		Building: a.Building, Compound: a.Community, Shop: a.Shop, Key: a.Key()}
	if a.Room > 0 {
		r.Room = strconv.Itoa(a.Room)
	}
	return r
}
