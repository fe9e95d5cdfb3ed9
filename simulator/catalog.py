"""Static reference data of the synthetic economy: regions, goods, names, banks.

Every text here is plain CJK/ASCII without XML or CSV special characters, so the
writers never need to escape it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from simulator.money import rate_text


@dataclass(frozen=True)
class Region:
    """A district where companies are registered (its code opens their USCC)."""

    province_code: str
    province: str
    city_code: str
    city: str
    district_code: str
    district: str
    short: str  # how company names start, e.g. 苏州

    @property
    def place(self) -> str:
        """Address text as waybills print it."""
        city = "" if self.city == self.province else self.city
        return f"{self.province}{city}{self.district}"


def _regions() -> tuple[Region, ...]:
    rows = [
        ("440000", "广东省", "440300", "深圳市", "深圳", [("440305", "南山区"), ("440306", "宝安区"), ("440307", "龙岗区")]),
        ("440000", "广东省", "441900", "东莞市", "东莞", [("441900", "东莞市")]),
        ("440000", "广东省", "440600", "佛山市", "佛山", [("440604", "禅城区"), ("440606", "顺德区")]),
        ("320000", "江苏省", "320500", "苏州市", "苏州", [("320505", "虎丘区"), ("320506", "吴中区"), ("320507", "相城区")]),
        ("320000", "江苏省", "320100", "南京市", "南京", [("320111", "浦口区"), ("320115", "江宁区")]),
        ("320000", "江苏省", "320200", "无锡市", "无锡", [("320214", "新吴区")]),
        ("320000", "江苏省", "320400", "常州市", "常州", [("320411", "新北区")]),
        ("330000", "浙江省", "330100", "杭州市", "杭州", [("330108", "滨江区"), ("330110", "余杭区")]),
        ("330000", "浙江省", "330200", "宁波市", "宁波", [("330206", "北仑区")]),
        ("310000", "上海市", "310000", "上海市", "上海", [("310115", "浦东新区"), ("310112", "闵行区")]),
        ("500000", "重庆市", "500000", "重庆市", "重庆", [("500112", "渝北区"), ("500113", "巴南区")]),
        ("510000", "四川省", "510100", "成都市", "成都", [("510116", "双流区")]),
        ("370000", "山东省", "370200", "青岛市", "青岛", [("370211", "黄岛区")]),
        ("420000", "湖北省", "420100", "武汉市", "武汉", [("420115", "江夏区"), ("420113", "汉南区")]),
        ("340000", "安徽省", "340100", "合肥市", "合肥", [("340104", "蜀山区")]),
        ("350000", "福建省", "350200", "厦门市", "厦门", [("350205", "海沧区")]),
        ("120000", "天津市", "120000", "天津市", "天津", [("120116", "滨海新区")]),
        ("430000", "湖南省", "430100", "长沙市", "长沙", [("430104", "岳麓区")]),
    ]
    out: list[Region] = []
    for prov_code, prov, city_code, city, short, districts in rows:
        for d_code, d_name in districts:
            out.append(Region(prov_code, prov, city_code, city, d_code, d_name, short))
    return tuple(out)


REGIONS: tuple[Region, ...] = _regions()


@dataclass(frozen=True)
class Product:
    """A good a supplier sells; prices in fen, weight in grams per unit."""

    item_name: str  # 数电票 ItemName, "*类别*名称"
    spec: str
    sap_unit: str  # MEINS
    unit: str  # invoice / deeper-tier waybill unit
    price_lo: int
    price_hi: int
    qty_lo: int
    qty_hi: int
    rate_pct: int
    tax_code: str
    grams: int
    per_pack: int
    matnr: str
    text: str = field(init=False)
    """PO item text (TXZ01): the name without the tax category, plus the spec."""
    rate_texts: tuple[str, str] = field(init=False)
    """``TaxRate`` as ``0.13`` and as ``13%``."""
    line_head: str = field(init=False)
    line_tail: str = field(init=False)
    """Fixed start (up to ``<Quantity>``) and end of its invoice line element."""

    def __post_init__(self) -> None:
        fixed = {
            "text": f"{self.item_name.rsplit('*', 1)[-1]} {self.spec}",
            "rate_texts": (rate_text(self.rate_pct, False), rate_text(self.rate_pct, True)),
            "line_head": (f"<IssuItemInformation><ItemName>{self.item_name}</ItemName><SpecMod>{self.spec}</SpecMod>"
                          f"<MeaUnits>{self.unit}</MeaUnits><Quantity>"),
            "line_tail": f"<TaxClassificationCode>{self.tax_code}</TaxClassificationCode></IssuItemInformation>\n",
        }
        for name, value in fixed.items():
            object.__setattr__(self, name, value)


def _p(name: str, spec: str, sap: str, unit: str, plo: int, phi: int, qlo: int, qhi: int,
       rate: int, code: str, grams: int, pack: int, matnr: str) -> Product:
    return Product(name, spec, sap, unit, plo, phi, qlo, qhi, rate, code, grams, pack, matnr)


PRODUCTS: dict[str, tuple[Product, ...]] = {
    "电子": (
        _p("*光学元件*导光板", "55寸", "PC", "片", 60_000, 150_000, 20, 400, 13, "1090512990000000000", 8_500, 10, "LGP-55"),
        _p("*电子元件*液晶显示模组", "43寸", "PC", "片", 80_000, 200_000, 10, 300, 13, "1090511010000000000", 6_000, 5, "LCM-43"),
        _p("*集成电路*驱动芯片", "QFN48", "PC", "个", 300, 2_500, 1_000, 50_000, 13, "1090514010000000000", 2, 2_000, "DIC-48"),
        _p("*印制电路板*多层印制电路板", "4层", "PC", "块", 1_500, 12_000, 200, 8_000, 13, "1090513010000000000", 80, 200, "PCB-4L"),
        _p("*信息技术服务*嵌入式软件", "V3.2", "EA", "套", 5_000, 30_000, 50, 2_000, 6, "3040201000000000000", 50, 100, "SW-EMB"),
    ),
    "电子材料": (
        _p("*有色金属*电解铜箔", "12um", "KG", "千克", 8_000, 12_000, 200, 5_000, 13, "1080413990000000000", 1_000, 25, "CUF-12"),
        _p("*塑料制品*光学扩散膜", "188um", "M", "米", 800, 3_000, 500, 20_000, 13, "1070215990000000000", 200, 100, "DIF-188"),
        _p("*电子元件*片式电容", "0402", "K", "千个", 2_000, 8_000, 100, 5_000, 13, "1090512010000000000", 300, 50, "MLCC-0402"),
    ),
    "化工": (
        _p("*化学原料*环氧树脂", "E-51", "KG", "千克", 1_500, 3_000, 1_000, 30_000, 13, "1070211990000000000", 1_000, 200, "EP-E51"),
        _p("*化学试剂*异丙醇", "工业级", "KG", "千克", 700, 1_500, 1_000, 30_000, 13, "1070207990000000000", 1_000, 160, "IPA-IND"),
        _p("*合成树脂*聚丙烯粒料", "T30S", "TO", "吨", 700_000, 950_000, 5, 200, 13, "1070211010000000000", 1_000_000, 40, "PP-T30S"),
    ),
    "能源": (
        _p("*燃气*液化天然气", "LNG", "TO", "吨", 450_000, 700_000, 10, 300, 9, "1100301010000000000", 1_000_000, 1, "LNG-01"),
        _p("*燃气*工业丙烷", "99%", "TO", "吨", 500_000, 650_000, 5, 150, 9, "1100302010000000000", 1_000_000, 1, "C3H8-99"),
    ),
    "包装": (
        _p("*包装材料*防静电包装箱", "600x400", "EA", "个", 800, 3_000, 500, 20_000, 13, "1060301990000000000", 600, 50, "PKG-ESD"),
        _p("*包装材料*珍珠棉护角", "EPE", "EA", "个", 50, 300, 5_000, 100_000, 13, "1060302990000000000", 30, 500, "PKG-EPE"),
    ),
    "汽车零部件": (
        _p("*汽车零部件*制动盘", "D320", "PC", "件", 15_000, 40_000, 100, 3_000, 13, "1090315990000000000", 9_000, 10, "BRK-D320"),
        _p("*汽车零部件*转向节", "LH", "PC", "件", 20_000, 60_000, 100, 2_000, 13, "1090315010000000000", 6_500, 8, "KNU-LH"),
        _p("*汽车零部件*发动机线束总成", "EA211", "EA", "套", 30_000, 90_000, 50, 1_500, 13, "1090315020000000000", 3_000, 10, "WH-EA211"),
    ),
    "金属制品": (
        _p("*钢材*冷轧钢板", "1.0mm", "TO", "吨", 450_000, 650_000, 5, 200, 13, "1080205990000000000", 1_000_000, 1, "CR-10"),
        _p("*金属制品*六角螺栓", "M8x30", "K", "千个", 20_000, 60_000, 10, 500, 13, "1080399010000000000", 20_000, 1, "BLT-M8"),
    ),
    "橡胶塑料": (
        _p("*农产品*天然橡胶", "SCR10", "TO", "吨", 1_200_000, 1_600_000, 2, 60, 9, "1010502010000000000", 1_000_000, 30, "NR-SCR10"),
        _p("*橡胶制品*密封条", "EPDM", "M", "米", 500, 2_000, 500, 20_000, 13, "1070303990000000000", 300, 100, "SEAL-EPDM"),
    ),
}

NAME_WORDS: dict[str, tuple[str, ...]] = {
    "电子": ("电子科技", "光电科技", "精密电子", "微电子"),
    "电子材料": ("新材料科技", "电子材料", "薄膜科技"),
    "化工": ("化工", "精细化工", "化学科技"),
    "能源": ("能源", "燃气"),
    "包装": ("包装材料", "包装制品"),
    "汽车零部件": ("汽车零部件", "汽车部件", "机电"),
    "金属制品": ("金属制品", "精密五金", "钢材加工"),
    "橡胶塑料": ("橡塑制品", "塑胶科技"),
}

BRAND_FIRST = "恒瑞华鼎宏德金联永嘉远新博海天鑫万明佳东盛润信和长泰富兴凯誉"
BRAND_SECOND = "隆丰星盛达利泰创信禾航锐越川成源通阳宝升康发茂辉晟昌元瑞祥邦"


@dataclass(frozen=True)
class CoreSpec:
    """A core enterprise: who it is and which industries feed each tier under it."""

    name: str
    industry: str
    district_code: str
    bukrs: str
    upstream: tuple[tuple[str, ...], ...]  # industries of tiers 1..5


CORES: tuple[CoreSpec, ...] = (
    CoreSpec("深圳市华星电子集团有限公司", "电子", "440305", "1000",
             (("电子",), ("电子", "电子材料"), ("电子材料", "化工"), ("化工", "包装"), ("化工", "包装"))),
    CoreSpec("江苏瑞恒化工集团股份有限公司", "化工", "320115", "2000",
             (("化工",), ("化工", "能源"), ("能源", "包装"), ("包装", "化工"), ("能源", "包装"))),
    CoreSpec("重庆渝联汽车零部件集团有限公司", "汽车零部件", "500112", "3100",
             (("汽车零部件",), ("金属制品", "橡胶塑料"), ("金属制品", "橡胶塑料"), ("化工", "金属制品"), ("能源", "包装"))),
)


@dataclass(frozen=True)
class BankSpec:
    """A partner bank of the platform."""

    cnaps: str
    name: str
    district_code: str
    base_bp: int  # typical annual discount rate, basis points


BANKS: tuple[BankSpec, ...] = (
    BankSpec("102100099996", "中国工商银行股份有限公司", "110102", 255),
    BankSpec("103100000026", "中国农业银行股份有限公司", "110101", 265),
    BankSpec("104100000004", "中国银行股份有限公司", "110102", 260),
    BankSpec("105100000017", "中国建设银行股份有限公司", "110102", 250),
    BankSpec("308584000013", "招商银行股份有限公司", "440304", 275),
    BankSpec("313521000011", "苏州银行股份有限公司", "320505", 298),
    BankSpec("310290000013", "上海浦东发展银行股份有限公司", "310101", 285),
)


def partner_banks(count: int | None = None) -> tuple[BankSpec, ...]:
    """The platform's ``count`` partner banks (``None``: :data:`BANKS`): the first of :data:`BANKS`,
    then city commercial banks made up in turn over :data:`REGIONS` (CNAPS ``313`` + a 4-digit serial
    from 6000, never one of :data:`BANKS`' codes), each with its own typical rate."""
    if count is None:
        return BANKS
    if count < 3:
        raise ValueError("a platform needs at least 3 partner banks (a voucher's three children are financed at three)")
    made = []
    for k in range(len(BANKS), count):
        region = REGIONS[k % len(REGIONS)]
        made.append(BankSpec(f"313{6000 + k:04d}00010", f"{region.short}第{k + 1}商业银行股份有限公司", region.district_code,
                             250 + (k * 7) % 50))  # fmt: skip
    return (BANKS + tuple(made))[:count]


@dataclass(frozen=True)
class CarrierSpec:
    """A logistics company delivering waybills."""

    name: str
    district_code: str
    prefix: str


CARRIERS: tuple[CarrierSpec, ...] = (
    CarrierSpec("深圳顺达物流有限公司", "440306", "SD"),
    CarrierSpec("上海安迅供应链管理有限公司", "310115", "AX"),
    CarrierSpec("重庆捷运物流有限公司", "500113", "JY"),
    CarrierSpec("江苏通衢运输有限公司", "320111", "TQ"),
)

DRAWERS: tuple[str, ...] = ("王芳", "李娜", "张伟", "刘洋", "陈静", "杨丽", "赵敏", "黄磊")
