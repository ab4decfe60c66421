"""Place names, codes and words the synthetic city is made of.

Districts are Shenzhen's (GB/T 2260, 4403xx) weighted roughly by population; origins are
places Shenzhen's migrants often come from (other provinces and other Guangdong cities).
Company and person names are composed from common words and are fictional.
"""

from __future__ import annotations

import random

DISTRICTS: dict[str, str] = {
    "440303": "罗湖区",
    "440304": "福田区",
    "440305": "南山区",
    "440306": "宝安区",
    "440307": "龙岗区",
    "440308": "盐田区",
    "440309": "龙华区",
    "440310": "坪山区",
    "440311": "光明区",
}
DISTRICT_CODES = tuple(DISTRICTS)
# Relative resident population (Shenzhen statistical yearbook order of magnitude).
DISTRICT_WEIGHTS = (6.0, 9.0, 10.0, 20.0, 18.0, 1.5, 14.0, 3.0, 5.0)

STREETS: dict[str, tuple[str, ...]] = {
    "440303": ("深南东路", "东门中路", "爱国路", "翠竹路", "布心路"),
    "440304": ("福华路", "深南中路", "华强北路", "益田路", "莲花路"),
    "440305": ("科技园路", "南海大道", "后海大道", "前海路", "沙河西路"),
    "440306": ("宝安大道", "新安六路", "创业一路", "西乡大道", "福永大道"),
    "440307": ("龙岗大道", "布吉路", "坂雪岗大道", "龙翔大道", "横岗大道"),
    "440308": ("沙头角路", "海山路", "盐田路", "东海道"),
    "440309": ("人民路", "民治大道", "梅龙大道", "龙华大道", "观澜大道"),
    "440310": ("坪山大道", "深汕路", "东纵路", "金牛路"),
    "440311": ("光明大街", "华夏路", "光侨路", "公常路"),
}

ORIGINS: dict[str, str] = {
    "430102": "湖南省长沙市芙蓉区",
    "430524": "湖南省邵阳市隆回县",
    "431021": "湖南省郴州市桂阳县",
    "360721": "江西省赣州市赣县",
    "360734": "江西省赣州市寻乌县",
    "450881": "广西壮族自治区贵港市桂平市",
    "450521": "广西壮族自治区北海市合浦县",
    "420111": "湖北省武汉市洪山区",
    "421127": "湖北省黄冈市黄梅县",
    "410523": "河南省安阳市汤阴县",
    "411623": "河南省周口市商水县",
    "510623": "四川省德阳市中江县",
    "511725": "四川省达州市渠县",
    "350583": "福建省泉州市南安市",
    "441481": "广东省梅州市兴宁市",
    "445122": "广东省潮州市饶平县",
    "440882": "广东省湛江市雷州市",
    "520102": "贵州省贵阳市南明区",
    "370283": "山东省青岛市平度市",
    "220102": "吉林省长春市南关区",
}
ORIGIN_CODES = tuple(ORIGINS)

SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶"
    "程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛段雷侯龙史陶黎贺顾毛"
)
MALE_GIVEN = "伟强磊军勇杰涛明超刚平辉鹏华飞鑫波斌宇浩凯健俊帆帅旭宁龙林阳晨峰建国志文博"
FEMALE_GIVEN = "芳娜敏静丽艳娟霞燕玲婷雪慧莉萍红琳倩颖琴蓉洁云佳欣怡悦晶梅璐露瑶"


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


COMPANY_WORDS = _words(
    "华信 鹏程 前海 腾云 海岸 南方 恒通 金桥 宏达 新城 "
    "瑞丰 嘉禾 天成 博远 中联 星河 汇智 安泰 盛世 远航"
)
INDUSTRIES = _words(
    "科技 电子 物流 贸易 建筑工程 餐饮管理 医疗器械 网络技术 "
    "精密制造 物业管理 教育咨询 供应链管理 新能源 服装"
)
TAX_TYPES = ("个人所得税", "房产税", "契税", "印花税")
BUILDING_TYPES_OWNED = ("commodity_housing", "commodity_housing", "commodity_housing", "affordable")
BUILDING_TYPES_RENTED = ("urban_village", "apartment", "commodity_housing", "talent_housing")


def district_name(code: str) -> str:
    return DISTRICTS.get(code) or ORIGINS.get(code, "")


def person_name(rng: random.Random, gender: str) -> str:
    given = MALE_GIVEN if gender == "M" else FEMALE_GIVEN
    length = 1 if rng.random() < 0.3 else 2
    return rng.choice(SURNAMES) + "".join(rng.choice(given) for _ in range(length))


def phone(rng: random.Random) -> str:
    return f"1{rng.choice('35789')}{rng.randrange(10**9):09d}"


def address(rng: random.Random, code: str) -> str:
    if code in STREETS:
        street = rng.choice(STREETS[code])
        return (
            f"广东省深圳市{DISTRICTS[code]}{street}{rng.randint(1, 399)}号"
            f"{rng.randint(1, 30)}栋{rng.randint(1, 33)}{rng.randint(1, 8):02d}"
        )
    return f"{ORIGINS.get(code, '')}{rng.choice('东南西北')}街{rng.randint(1, 200)}号"


def company(rng: random.Random) -> str:
    return f"深圳市{rng.choice(COMPANY_WORDS)}{rng.choice(INDUSTRIES)}有限公司"


def tax_office(code: str) -> str:
    return f"国家税务总局深圳市{DISTRICTS.get(code, '南山区')}税务局"


def fund_office(code: str) -> str:
    return f"深圳市社会保险基金管理局{DISTRICTS.get(code, '南山区')}分局"
