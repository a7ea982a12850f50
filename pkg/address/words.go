package address

import "sort"

// The word lists below are the parser's whole vocabulary. Each list is
// matched longest first where one entry is a prefix of another.

// shanghaiDistricts maps every name a caller may use for a Shanghai district
// (without its 区/县 suffix), current or abolished, to the current name, so
// that a caller who still says 闸北区 groups with one who says 静安区.
// Abolished: 闸北 (into 静安, 2015), 卢湾 (黄浦, 2011), 南市 (黄浦, 2000),
// 南汇 (浦东新区, 2009), 川沙 (浦东新区, 1993), 吴淞 (宝山, 1988); 崇明县 became
// 崇明区 in 2016.
var shanghaiDistricts = map[string]string{
	"黄浦": "黄浦区", "徐汇": "徐汇区", "长宁": "长宁区", "静安": "静安区", "普陀": "普陀区",
	"虹口": "虹口区", "杨浦": "杨浦区", "闵行": "闵行区", "宝山": "宝山区", "嘉定": "嘉定区",
	"浦东": "浦东新区", "金山": "金山区", "松江": "松江区", "青浦": "青浦区", "奉贤": "奉贤区",
	"崇明": "崇明区",
	"闸北": "静安区", "卢湾": "黄浦区", "南市": "黄浦区", "南汇": "浦东新区", "川沙": "浦东新区",
	"吴淞": "宝山区",
}

// shanghaiDistrictStems is shanghaiDistricts' keys, longest first.
var shanghaiDistrictStems = func() []string {
	ks := make([]string, 0, len(shanghaiDistricts))
	for k := range shanghaiDistricts {
		ks = append(ks, k)
	}
	sort.Slice(ks, func(i, j int) bool {
		if len(ks[i]) != len(ks[j]) {
			return len(ks[i]) > len(ks[j])
		}
		return ks[i] < ks[j]
	})
	return ks
}()

// municipalities are the provincial-level cities, whose name is both the
// province and the city of an address.
var municipalities = []string{"北京", "上海", "天津", "重庆"}

const shanghai = "上海市"

// leadingJunk are the words callers and call-takers put before an address.
var leadingJunk = []string{"事发地点", "事发地址", "发生地点", "具体地址", "详细地址", "具体位置",
	"地址", "住址", "地点", "位置", "位于", "我家在", "我家住", "我住在", "家住", "住在", "就在", "在", "是"}

// roadSuffixes end a road name. 道 alone is left out: it ends 街道, 人行道,
// 车道 and 楼道 far more often than a road in Shanghai.
var roadSuffixes = []string{"公路", "大道", "大街", "路", "街", "巷"}

// communitySuffixes end the name of a compound, estate or named building.
var communitySuffixes = []string{"居委会", "村委会", "居民区", "小区", "新村", "新邨", "公寓", "花园",
	"家园", "花苑", "山庄", "公馆", "大厦", "大楼", "广场", "别墅", "园区", "居委", "社区",
	"苑", "园", "邨", "村", "坊", "府", "城"}

// notAfterCommunity lists, per single-rune suffix, runes that make it part of
// another word: 城管 is urban management, 村民 a villager.
var notAfterCommunity = map[string]string{
	"城": "管市区镇乡墙",
	"村": "民委干长庄",
	"园": "林长丁",
	"府": "门",
}

// stemStops are stems that make a generic word, not a name: 马路, 这条路.
var stemStops = map[string]bool{
	"大马": true, "小马": true, "这条": true, "那条": true, "一条": true, "这条马": true, "那条马": true,
	"高速": true, "铁": true, "我们": true, "你们": true, "他们": true, "这个": true, "那个": true,
	"整个": true, "所在": true, "附近": true, "周边": true, "隔壁": true, "对面": true, "旁边": true,
	"门口": true, "十字": true,
}

// boundaryRunes never occur inside a road or compound name in practice but
// often just before one ("我家在共和新路", "叫大宁小区"), so a name starts
// after the last of them. 和 and 交 are absent: 共和新路, 交通路.
func boundaryRune(r rune) bool {
	switch r {
	case '在', '住', '于', '的', '是', '近', '靠', '往', '从', '个', '为', '叫', '去', '有', '与', '跟', '及', '经':
		return true
	}
	return false
}

// stemJunk are words a name starts after, like boundaryRunes.
var stemJunk = []string{"地址", "住址", "地点", "位置", "投诉", "反映", "举报", "我家", "家住"}

// connectors join two roads ("大宁路与共和新路交叉口") and are skipped when a
// road follows.
func connector(r rune) bool {
	switch r {
	case '和', '与', '及', '跟', '同', '近', '靠', '交':
		return true
	}
	return false
}

// relationWord is a multi-rune word placing the problem relative to the
// address; any of them may appear anywhere in a word run.
type relationWord struct {
	word string
	rel  Relation
}

var relationWords = []relationWord{
	{"马路对面", RelationOpposite}, {"十字路口", RelationJunction},
	{"大门口", RelationAt}, {"交叉口", RelationJunction},
	{"门口", RelationAt}, {"门前", RelationAt}, {"门外", RelationAt}, {"楼下", RelationAt},
	{"东门", RelationAt}, {"西门", RelationAt}, {"南门", RelationAt}, {"北门", RelationAt},
	{"大门", RelationAt}, {"正门", RelationAt}, {"后门", RelationAt},
	{"旁边", RelationBeside}, {"边上", RelationBeside}, {"隔壁", RelationBeside},
	{"东侧", RelationBeside}, {"西侧", RelationBeside}, {"南侧", RelationBeside}, {"北侧", RelationBeside},
	{"一侧", RelationBeside}, {"两侧", RelationBeside},
	{"对面", RelationOpposite}, {"对过", RelationOpposite},
	{"附近", RelationNear}, {"周边", RelationNear}, {"周围", RelationNear}, {"一带", RelationNear},
	{"路口", RelationJunction}, {"交界处", RelationJunction}, {"交汇处", RelationJunction},
	{"交界", RelationJunction}, {"交汇", RelationJunction},
	{"东北角", RelationBeside}, {"西北角", RelationBeside}, {"东南角", RelationBeside}, {"西南角", RelationBeside},
	{"高架下", RelationAt}, {"桥下", RelationAt}, {"底下", RelationAt}, {"下面", RelationAt},
}

// singleRelation are one-rune relation words; too common inside names to be
// searched for, they count only where a token starts.
func singleRelation(r rune) (Relation, bool) {
	switch r {
	case '旁', '边':
		return RelationBeside, true
	case '前', '门':
		return RelationAt, true
	}
	return RelationNone, false
}

// fillers carry no place: 共和新路上, 小区里, 路段.
var fillers = []string{"之间", "地方", "的", "上", "里", "内", "处", "段", "中"}

// cues start the description that follows an address ("…附近有个拉面馆",
// "…油烟扰民"). They are looked for only once the text has named a place, so
// a road name is never cut by one.
var cues = []string{"有", "存在", "发现", "经常", "一直", "长期", "每天", "天天", "多次", "反映", "投诉",
	"举报", "油烟", "噪音", "噪声", "扰民", "占道", "违章", "违法", "违规", "乱", "垃圾", "积水", "漏水",
	"堆放", "停放", "停车", "施工", "损坏", "破损", "问题", "情况", "要求", "希望", "请", "那里", "这里",
	"那边", "这边", "很", "太", "非常", "严重", "没有", "无人", "被", "导致", "造成", "影响"}

// genericPlaces name a kind of place, not one place; after an address they
// say nothing the address does not, so they are not taken for a shop
// (1234号小区门口 is 1234号门口).
var genericPlaces = map[string]bool{
	"小区": true, "商铺": true, "店铺": true, "店面": true, "门面": true, "小店": true, "底楼": true, "底层": true,
	"一楼": true, "楼道": true, "楼梯": true, "弄堂": true, "工地": true, "绿化带": true, "花坛": true, "人行道": true,
	"路边": true, "马路": true, "路面": true, "道路": true, "围墙": true, "车库": true, "地下车库": true,
	"停车场": true, "垃圾房": true, "垃圾桶": true, "河道": true, "大楼": true, "楼房": true, "房子": true,
}

// shopLeading are stripped from the front of a shop name.
var shopLeading = []string{"一家", "一个", "这家", "那家", "的", "个", "家"}

// shopTrailing are dropped from a shop name for Key only, so 兰州拉面馆 and
// 兰州拉面 are one shop.
var shopTrailing = []string{"门店", "分店", "店", "馆", "铺"}

// nonAddressUnits after a number show it is not part of an address: a date,
// a time, a distance, a bus route (46路), an amount.
var nonAddressUnits = []string{"公里", "千米", "小时", "分钟", "月", "年", "日", "点", "时", "分", "秒", "元",
	"块", "米", "个", "岁", "天", "次", "人", "辆", "路", "平", "吨", "斤", "周", "多", "余", "万"}

// streetTails follow a street name and are dropped: 芷江西路街道办事处.
var streetTails = []string{"办事处", "办"}

// badCityEnd are runes that end a word before 市 that is not a city: 超市,
// 门市, 菜市, 夜市, 股市.
const badCityEnd = "超门集菜夜股城花鸟早晚黑闹上"

// badDistrictEnd are runes that end a word before 区 that is not a district:
// 小区, 社区, 园区, 景区, 开发区 …
const badDistrictEnd = "小社园校景街厂营片城郊辖发业宅住税游济民学范验能域院"

// notAfterDistrict are runes after 区/县 that make another word: 区域, 县城.
const notAfterDistrict = "域别间长委政城级"

// notNameStart are runes no road or compound name starts with.
const notNameStart = "路街巷道弄号楼室镇乡"

// notCommunityStart are runes no compound name starts with: a name starting
// with a compound suffix is the tail of another name (上海苑北门苑).
const notCommunityStart = "苑园邨村坊府城"
