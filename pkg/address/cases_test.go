package address

// The cases are shared by the table tests, the fuzz seed corpus and the
// benchmark, so every realistic form written here is also fuzzed from.

type sameKeyCase struct {
	name     string
	district string // applied with WithDistrict, as intake and classify do
	key      string
	variants []string
}

var sameKeyCases = []sameKeyCase{
	{
		name: "lane and number", district: "静安区", key: "静安区|共和新路|1234|5|",
		variants: []string{
			"共和新路1234弄5号",
			"共和新路 1234 弄 5 号",
			"上海市静安区共和新路一二三四弄五号",
			"静安区共和新路1234弄5号楼",
			"上海静安共和新路1234弄5号",
			"上海市 静安区 共和新路1234弄5号",
			"静安共和新路1234弄5号",
			"闸北区共和新路1234弄5号",
			"共和新路１２３４弄５号",
			"共和新路1234-5",
			"共和新路1234-5号",
			"共和新路1234 5号",
			"共和新路1234弄5#",
			"共和新路1234弄5号门口",
			"共和新路1234弄5号楼下",
			"上海市静安区芷江西路街道共和新路1234弄5号",
			"地址：上海市静安区共和新路1234弄5号",
			"我家在共和新路1234弄5号",
			"共和新路1234弄5号201室",
			"共和新路1234弄5号2单元201室",
			"共和新路1234-5-201",
			"共和新路1234弄5-201",
			"共和新路1234弄5号附近有个拉面馆",
			"共和新路1234弄5号，垃圾堆放很久了",
			"（静安区）共和新路1234弄5号",
			"共和新路1234弄(大宁小区)5号",
			"共和新路上1234弄5号",
			"上海市上海市静安区共和新路1234弄5号",
			"共和新路壹贰叁肆弄伍号",
			"共和新路一千二百三十四弄五号",
			"共和新路1234衖5號",
			"静安区 共和新路 1234 弄 5 号 楼",
		},
	},
	{
		name: "number only", district: "静安区", key: "静安区|共和新路||1234|",
		variants: []string{
			"共和新路1234号",
			"共和新路一千二百三十四号",
			"共和新路1234号门口",
			"共和新路1234号对面",
			"共和新路1234号旁边",
			"共和新路1234号附近",
			"共和新路1234号附近有个拉面馆",
			"静安区共和新路1234号",
			"在共和新路1234号",
			"共和新路1234号3月5号开始施工",
			"共和新路1234",
			"共和新路1234号-1236号",
			"共和新路1234-1236号",
			"共和新路1234至1236号",
			"上海市静安区临汾路街道共和新路1234号",
			"共和新路1234号3楼",
		},
	},
	{
		name: "shop after the number", district: "静安区", key: "静安区|共和新路||1234|兰州拉面",
		variants: []string{
			"共和新路1234号兰州拉面",
			"共和新路1234号兰州拉面馆",
			"共和新路1234号门口的兰州拉面",
			"共和新路1234号兰州拉面门口",
			"共和新路1234号旁边的兰州拉面",
			"静安区共和新路1234号 兰州拉面",
			"共和新路1234号兰州拉面，油烟扰民",
			"共和新路1234号（兰州拉面）",
			"共和新路1234号的兰州拉面",
		},
	},
	{
		name: "number range with a shop", district: "静安区", key: "静安区|共和新路||123|全家便利",
		variants: []string{
			"共和新路123-125号全家便利店",
			"共和新路123号全家便利店",
			"共和新路一百二十三号全家便利店门口",
			"共和新路123~125号 全家便利店",
		},
	},
	{
		name: "junction", district: "静安区", key: "静安区|共和新路/延长路|||",
		variants: []string{
			"共和新路近延长路",
			"延长路近共和新路",
			"共和新路延长路口",
			"共和新路延长路路口",
			"共和新路与延长路交叉口",
			"延长路和共和新路交叉口",
			"共和新路/延长路",
			"静安区共和新路、延长路十字路口",
		},
	},
	{
		name: "road only", district: "静安区", key: "静安区|共和新路|||",
		variants: []string{
			"共和新路",
			"共和新路上",
			"静安区共和新路马路对面",
			"共和新路46路公交站",
			"上海市共和新路",
		},
	},
	{
		name: "compound without road", district: "静安区", key: "静安区|大宁小区||5|",
		variants: []string{
			"大宁小区5号楼",
			"大宁小区5号",
			"大宁小区五号楼301室",
			"静安区大宁小区5栋",
			"大宁小区5幢2单元",
			"大宁小区5#楼",
			"叫大宁小区的地方5号楼",
		},
	},
	{
		name: "number suffix", district: "静安区", key: "静安区|共和新路|1234|5甲|",
		variants: []string{
			"共和新路1234弄5号甲",
			"共和新路1234弄5甲号",
		},
	},
	{
		name: "annex number", district: "静安区", key: "静安区|临汾路|375|12之三|",
		variants: []string{
			"临汾路375弄12号之三",
			"临汾路375弄12号之3",
			"临汾路375弄12-3",
			"临汾路375弄12号-3",
		},
	},
	{
		name: "zone in a lane", district: "静安区", key: "静安区|万荣路|1188|A区12|",
		variants: []string{
			"万荣路1188弄A区12号",
			"万荣路1188弄ａ区12号",
			"万荣路1188弄A区12号楼",
			"静安区万荣路1188弄A区12号门口",
		},
	},
	{
		name: "junction in other words", district: "静安区", key: "静安区|共和新路/汶水路|||",
		variants: []string{
			"闸北区共和新路和汶水路交界处",
			"共和新路汶水路路口东北角",
			"上海市闸北区 汶水路 近 共和新路",
			"汶水路与共和新路交汇处",
		},
	},
	{
		name: "generic words are no shop", district: "静安区", key: "静安区|共和新路||912|",
		variants: []string{
			"共和新路912号",
			"共和新路912号小区门口",
			"共和新路912号一楼商铺",
			"共和新路912号底楼",
			"共和新路912号路边",
			"共和新路912号门口人行道",
		},
	},
	{
		name: "building letter", district: "静安区", key: "静安区|大宁国际广场||A|",
		variants: []string{
			"大宁国际广场A座",
			"大宁国际广场ａ座",
			"大宁国际广场A栋3楼",
		},
	},
	{
		name: "public road", district: "宝山区", key: "宝山区|沪太公路||1234|",
		variants: []string{
			"宝山区沪太公路1234号",
			"宝山沪太公路1234号",
			"沪太公路1234号",
			"上海市宝山区沪太公路一二三四号",
		},
	},
	{
		name: "avenue in Pudong", district: "浦东新区", key: "浦东新区|世纪大道||100|",
		variants: []string{
			"浦东新区世纪大道100号",
			"浦东世纪大道100号",
			"南汇区世纪大道100号",
			"世纪大道一百号",
		},
	},
	{
		name: "road named like a district", district: "静安区", key: "静安区|宝山路||123|",
		variants: []string{
			"宝山路123号",
			"静安区宝山路街道宝山路123号",
			"宝山路街道宝山路123号",
		},
	},
	{
		name: "road with a numeral in its name", district: "普陀区", key: "普陀区|三门路||35|",
		variants: []string{
			"普陀区三门路35号",
			"三门路三十五号",
		},
	},
	{
		name: "another city", district: "", key: "姑苏区|人民路||100|",
		variants: []string{
			"江苏省苏州市姑苏区人民路100号",
			"苏州市姑苏区人民路100号",
			"姑苏区人民路一百号",
			"江苏省 苏州市 姑苏区 人民路 100 号",
		},
	},
	{
		name: "town", district: "嘉定区", key: "嘉定区|华江路||100|",
		variants: []string{
			"嘉定区江桥镇华江路100号",
			"江桥镇华江路100号",
			"华江路100号",
		},
	},
}

type differentKeyCase struct {
	name string
	a, b string
}

var differentKeyCases = []differentKeyCase{
	{"different number", "静安区共和新路1234弄5号", "静安区共和新路1234弄6号"},
	{"different lane", "静安区共和新路1234弄5号", "静安区共和新路1235弄5号"},
	{"lane is not number", "静安区共和新路1234弄", "静安区共和新路1234号"},
	{"different road", "静安区共和新路1234弄5号", "静安区共和路1234弄5号"},
	{"different district", "静安区共和新路1234弄5号", "宝山区共和新路1234弄5号"},
	{"different shop", "共和新路1234号兰州拉面", "共和新路1234号全家便利店"},
	{"shop or building", "共和新路1234号兰州拉面", "共和新路1234号"},
	{"number suffix", "共和新路1234弄5号甲", "共和新路1234弄5号乙"},
	{"annex", "临汾路375弄12号之一", "临汾路375弄12号之二"},
	{"range is not lane", "共和新路123-125号", "共和新路123弄125号"},
	{"lane and number are ordered", "共和新路1234-5", "共和新路5-1234"},
	{"sub-lane", "临汾路375弄2支弄5号", "临汾路375弄3支弄5号"},
	{"junction is not the road", "共和新路近延长路", "共和新路"},
	{"different junction", "共和新路近延长路", "共和新路近广中路"},
	{"compound", "大宁小区5号楼", "大宁小区6号楼"},
	{"compound phase", "大宁小区一期5号楼", "大宁小区二期5号楼"},
	{"zone", "万荣路1188弄A区12号", "万荣路1188弄B区12号"},
	{"zone or none", "万荣路1188弄A区12号", "万荣路1188弄12号"},
	{"west and middle", "芷江西路100号", "芷江中路100号"},
	{"different city street names", "静安区人民路100号", "姑苏区人民路100号"},
}
