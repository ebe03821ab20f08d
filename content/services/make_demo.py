"""Generate demo_shanghai.csv: invented infant-care services spread over Shanghai's 16 districts, every one
labelled as demo data. Deterministic (fixed seed): run `python content/services/make_demo.py` and commit both files.

The points are scattered around real neighbourhood centres of each district and the streets are real street
names of that district, but the services, phone numbers (021-5550xxxx) and registration numbers are made up."""

from __future__ import annotations

import csv
import math
import random
from pathlib import Path

SEED = 20261120
OUTPUT = Path(__file__).with_name("demo_shanghai.csv")
UPDATED = "2026-11-01"
COLUMNS = ("id", "name_en", "name_zh", "type", "address_en", "address_zh", "district", "city", "lat", "lon",
           "age_min_months", "age_max_months", "opening_hours", "fee_min_cny", "fee_max_cny", "capacity", "vacancies",
           "registration", "registration_number", "phone", "last_inspection", "source", "updated", "is_demo")

# district: (English, Chinese, administrative code, how many services,
#            anchors [(lat, lon, radius km)], streets [(English, Chinese)])
DISTRICTS = {
    "huangpu": ("Huangpu", "黄浦", "310101", 14,
                [(31.2323, 121.4754, 0.9), (31.2196, 121.4750, 0.7), (31.2240, 121.4900, 0.7), (31.2060, 121.4710, 0.8)],
                [("Middle Huaihai Road", "淮海中路"), ("Xizang South Road", "西藏南路"), ("Fuxing Middle Road", "复兴中路"),
                 ("Ruijin No.2 Road", "瑞金二路"), ("Dapu Road", "打浦路"), ("Henan South Road", "河南南路")]),
    "xuhui": ("Xuhui", "徐汇", "310104", 24,
              [(31.1945, 121.4370, 1.3), (31.1720, 121.4250, 1.1), (31.1600, 121.4180, 1.0), (31.1760, 121.4530, 1.0),
               (31.2080, 121.4420, 0.7)],
              [("Tianyaoqiao Road", "天钥桥路"), ("Caoxi North Road", "漕溪北路"), ("Hongcao Road", "虹漕路"),
               ("Longhua Road", "龙华路"), ("Xietu Road", "斜土路"), ("Tianlin Road", "田林路"), ("Guilin Road", "桂林路"),
               ("Kangjian Road", "康健路"), ("Lingling Road", "零陵路")]),
    "changning": ("Changning", "长宁", "310105", 16,
                  [(31.2220, 121.4170, 0.9), (31.1990, 121.3990, 0.9), (31.2120, 121.3850, 0.9), (31.2150, 121.4050, 0.7)],
                  [("Yuyuan Road", "愚园路"), ("Xianxia Road", "仙霞路"), ("Gubei Road", "古北路"), ("Tianshan Road", "天山路"),
                   ("Zhongshan West Road", "中山西路"), ("Loushanguan Road", "娄山关路")]),
    "jingan": ("Jing'an", "静安", "310106", 22,
               [(31.2236, 121.4459, 0.7), (31.2800, 121.4580, 1.1), (31.3000, 121.4470, 0.9), (31.2600, 121.4600, 0.9),
                (31.2380, 121.4370, 0.6)],
               [("Yan'an Middle Road", "延安中路"), ("Changde Road", "常德路"), ("Daning Road", "大宁路"),
                ("Gonghe New Road", "共和新路"), ("Linfen Road", "临汾路"), ("Zhijiang West Road", "芷江西路"),
                ("Wanhangdu Road", "万航渡路")]),
    "putuo": ("Putuo", "普陀", "310107", 18,
              [(31.2440, 121.4130, 0.9), (31.2530, 121.4000, 0.8), (31.2750, 121.4000, 1.1), (31.2580, 121.4360, 0.6),
               (31.2440, 121.4380, 0.5)],
              [("Caoyang Road", "曹杨路"), ("Zhenbei Road", "真北路"), ("Lanxi Road", "兰溪路"), ("Wuning Road", "武宁路"),
               ("Tongchuan Road", "铜川路"), ("Ganquan Road", "甘泉路")]),
    "hongkou": ("Hongkou", "虹口", "310109", 14,
                [(31.2720, 121.4820, 0.9), (31.2480, 121.4970, 0.7), (31.2830, 121.4880, 0.7), (31.2880, 121.4790, 0.6),
                 (31.3010, 121.4830, 0.7)],
                [("Sichuan North Road", "四川北路"), ("Quyang Road", "曲阳路"), ("Liangcheng Road", "凉城路"),
                 ("Dalian West Road", "大连西路"), ("Ouyang Road", "欧阳路"), ("Siping Road", "四平路")]),
    "yangpu": ("Yangpu", "杨浦", "310110", 20,
               [(31.3010, 121.5140, 1.1), (31.2830, 121.5350, 0.9), (31.2600, 121.5250, 0.9), (31.3280, 121.5060, 0.9),
                (31.2810, 121.5150, 0.6)],
               [("Guoding Road", "国定路"), ("Kongjiang Road", "控江路"), ("Pingliang Road", "平凉路"),
                ("Huangxing Road", "黄兴路"), ("Yinhang Road", "殷行路"), ("Anshan Road", "鞍山路")]),
    "minhang": ("Minhang", "闵行", "310112", 34,
                [(31.1110, 121.3850, 1.4), (31.1560, 121.3500, 1.1), (31.1200, 121.4200, 1.1), (31.1450, 121.4150, 0.9),
                 (31.0850, 121.5000, 1.4), (31.0300, 121.3600, 1.4), (31.2000, 121.3100, 1.1), (31.0500, 121.4100, 1.1)],
                [("Xinsong Road", "莘松路"), ("Qixin Road", "七莘路"), ("Gumei Road", "古美路"), ("Pujin Road", "浦锦路"),
                 ("Humin Road", "沪闵路"), ("Dushi Road", "都市路"), ("Huacao Road", "华漕路"), ("Jianchuan Road", "剑川路")]),
    "baoshan": ("Baoshan", "宝山", "310113", 24,
                [(31.4050, 121.4891, 1.4), (31.3500, 121.3900, 1.4), (31.3050, 121.4100, 1.1), (31.3450, 121.5000, 0.9),
                 (31.3750, 121.4300, 1.1), (31.4200, 121.3500, 1.4)],
                [("Youyi Road", "友谊路"), ("Gucun Road", "顾村路"), ("Nanchen Road", "南陈路"), ("Songnan Road", "淞南路"),
                 ("Yanghang Road", "杨行路"), ("Luodian Road", "罗店路"), ("Hutai Road", "沪太路")]),
    "jiading": ("Jiading", "嘉定", "310114", 20,
                [(31.3600, 121.2500, 1.4), (31.3830, 121.2500, 0.9), (31.3000, 121.3200, 1.1), (31.2900, 121.1650, 1.4),
                 (31.2550, 121.3300, 0.9)],
                [("Bole Road", "博乐路"), ("Tacheng Road", "塔城路"), ("Nanxiang Road", "南翔路"), ("Anting Road", "安亭路"),
                 ("Jiangqiao Road", "江桥路"), ("Baiyin Road", "白银路")]),
    "pudong": ("Pudong", "浦东", "310115", 56,
               [(31.2280, 121.5250, 0.9), (31.2150, 121.5200, 0.9), (31.2105, 121.5550, 1.1), (31.2600, 121.6000, 1.4),
                (31.2040, 121.5950, 1.4), (31.1480, 121.5100, 1.1), (31.1150, 121.5750, 1.4), (31.1900, 121.7000, 1.4),
                (31.0500, 121.7600, 1.4), (31.3550, 121.5750, 1.1), (30.9000, 121.9200, 1.8), (31.1400, 121.5800, 1.1)],
               [("Weifang Road", "潍坊路"), ("Pudong Avenue", "浦东大道"), ("Zhangyang Road", "张杨路"),
                ("Fangdian Road", "芳甸路"), ("Zuchongzhi Road", "祖冲之路"), ("Jinqiao Road", "金桥路"),
                ("Sanlin Road", "三林路"), ("Zhouzhu Highway", "周祝公路"), ("Chuansha Road", "川沙路"),
                ("Huinan Road", "惠南路"), ("Huanhu West 1st Road", "环湖西一路"), ("Kangqiao Road", "康桥路")]),
    "jinshan": ("Jinshan", "金山", "310116", 12,
                [(30.7300, 121.3400, 1.4), (30.9000, 121.1700, 1.4), (30.8900, 121.0200, 0.9), (30.8800, 121.3100, 0.9)],
                [("Weiqing Road", "卫清路"), ("Longhang Road", "龙航路"), ("Jinshan Avenue", "金山大道"),
                 ("Fengjing Road", "枫泾路"), ("Tinglin Road", "亭林路")]),
    "songjiang": ("Songjiang", "松江", "310117", 22,
                  [(31.0300, 121.2200, 1.6), (31.1200, 121.2600, 1.1), (31.1400, 121.3200, 1.1), (31.0600, 121.3200, 0.9),
                   (31.0500, 121.2050, 0.9)],
                  [("Renmin North Road", "人民北路"), ("Sixian Road", "思贤路"), ("Sijing Road", "泗泾路"),
                   ("Jiuting Avenue", "九亭大道"), ("Xinqiao Road", "新桥路"), ("Wenhui Road", "文汇路")]),
    "qingpu": ("Qingpu", "青浦", "310118", 16,
               [(31.1500, 121.1200, 1.4), (31.1100, 121.0550, 0.9), (31.1800, 121.2650, 1.1), (31.1550, 121.1900, 0.9),
                (31.2400, 121.2200, 0.9)],
               [("Gongyuan Road", "公园路"), ("Chengzhong North Road", "城中北路"), ("Xujing Road", "徐泾路"),
                ("Zhaoxiang Road", "赵巷路"), ("Huaxin Road", "华新路"), ("Zhuxi Road", "珠溪路")]),
    "fengxian": ("Fengxian", "奉贤", "310120", 16,
                 [(30.9200, 121.4600, 1.6), (30.9150, 121.6500, 0.9), (30.9900, 121.4300, 0.9), (30.9500, 121.5100, 0.9),
                  (30.8400, 121.5100, 0.9)],
                 [("Jiefang East Road", "解放东路"), ("Nanfeng Road", "南奉公路"), ("Xidu Road", "西渡路"),
                  ("Jinhui Road", "金汇路"), ("Haiwan Road", "海湾路"), ("Baixiu Road", "百秀路")]),
    "chongming": ("Chongming", "崇明", "310151", 12,
                  [(31.6250, 121.4000, 1.4), (31.5950, 121.5400, 0.9), (31.5300, 121.8400, 0.9), (31.7250, 121.3300, 0.9)],
                  [("Bayi Road", "八一路"), ("Cuizhu Road", "翠竹路"), ("Baozhen Road", "堡镇路"), ("Chenhai Highway", "陈海公路"),
                   ("Beiyan Highway", "北沿公路")]),
}

WORDS = [("Sunflower", "向日葵"), ("Little Acorn", "小橡果"), ("Rainbow", "彩虹"), ("Bamboo", "翠竹"), ("Panda", "熊猫"),
         ("Starlight", "星光"), ("Dandelion", "蒲公英"), ("Maple Leaf", "枫叶"), ("Little Whale", "小鲸鱼"), ("Lotus", "荷花"),
         ("Peach Blossom", "桃花"), ("Morning Sun", "晨曦"), ("Magnolia", "白玉兰"), ("Little Cloud", "小云朵"),
         ("Orchard", "果园"), ("Seagull", "海鸥"), ("Ginkgo", "银杏"), ("Jasmine", "茉莉"), ("Honeybee", "小蜜蜂"),
         ("Kite", "风筝"), ("Little Boat", "小帆船"), ("Willow", "柳芽"), ("Camphor Tree", "香樟"), ("Harbour", "港湾"),
         ("Butterfly", "蝴蝶"), ("Dolphin", "海豚"), ("Firefly", "萤火虫"), ("Meadow", "青草地"), ("Lantern", "小灯笼"),
         ("Crane", "仙鹤"), ("Little Star", "小星星"), ("Blue Sky", "蓝天"), ("Apple Tree", "苹果树"), ("Songbird", "百灵鸟")]

# type: (share, English kind, Chinese kind)
TYPES = {
    "public_inclusive": (0.20, "Inclusive Childcare Centre", "普惠托育中心"),
    "private": (0.30, "Nursery", "托育园"),
    "employer": (0.08, "Workplace Nursery", "职工托育点"),
    "kindergarten_class": (0.20, "Kindergarten Toddler Class", "幼儿园托班"),
    "community_centre": (0.15, "Community Baby House", "社区宝宝屋"),
    "home_based": (0.07, "Home Childcare", "家庭托育点"),
}
# Per type: age ranges (months), opening hours, monthly fee range bounds (CNY), capacity range, registration odds.
PROFILES = {
    "public_inclusive": ([(18, 36), (24, 36), (12, 36)], ["Mo-Fr 08:00-17:00", "Mo-Fr 07:30-17:30"],
                         (1200, 2800), (60, 150), {"registered": 0.97, "pending": 0.03}),
    "private": ([(6, 36), (12, 36), (3, 36), (18, 36)],
                ["Mo-Fr 07:30-18:30; Sa 08:00-12:00", "Mo-Fr 08:00-18:00", "Mo-Sa 07:30-19:00", "Mo-Fr 07:45-18:15"],
                (4000, 12000), (30, 120), {"registered": 0.75, "pending": 0.12, "unregistered": 0.05, "unknown": 0.08}),
    "employer": ([(12, 36), (18, 36)], ["Mo-Fr 07:30-18:00", "Mo-Fr 08:00-17:30"],
                 (800, 3000), (20, 60), {"registered": 0.80, "pending": 0.15, "unknown": 0.05}),
    "kindergarten_class": ([(24, 36)], ["Mo-Fr 08:00-16:30", "Mo-Fr 08:15-16:15"],
                           (600, 2500), (20, 60), {"registered": 0.98, "unknown": 0.02}),
    "community_centre": ([(12, 36), (6, 36), (18, 36)],
                         ["Mo-Fr 08:30-16:30", "Mo-Fr 09:00-11:30,13:30-16:30", "Mo-Sa 08:30-11:30"],
                         (0, 900), (10, 30), {"registered": 0.95, "pending": 0.05}),
    "home_based": ([(3, 36), (6, 36)], ["Mo-Fr 08:00-18:00", "Mo-Fr 07:30-18:30"],
                   (3000, 6500), (4, 12), {"registered": 0.40, "pending": 0.25, "unregistered": 0.20, "unknown": 0.15}),
}


def _point(rng: random.Random, lat: float, lon: float, radius_km: float) -> tuple[float, float]:
    """A uniformly random point within radius_km of the anchor."""
    distance = radius_km * math.sqrt(rng.random())
    bearing = rng.random() * 2 * math.pi
    dlat = distance * math.cos(bearing) / 111.195
    dlon = distance * math.sin(bearing) / (111.195 * math.cos(math.radians(lat)))
    return round(lat + dlat, 6), round(lon + dlon, 6)


def _choose(rng: random.Random, odds: dict[str, float]) -> str:
    pick, total = rng.random(), 0.0
    for value, share in odds.items():
        total += share
        if pick < total:
            return value
    return next(iter(odds))


def _fees(rng: random.Random, low: int, high: int) -> tuple[int, int]:
    fee_min = round(rng.uniform(low, high * 0.8) / 100) * 100
    fee_max = min(high, fee_min + round(rng.uniform(0, (high - low) * 0.4) / 100) * 100)
    return fee_min, max(fee_min, fee_max)


def generate(seed: int = SEED) -> list[dict[str, object]]:
    rng = random.Random(seed)
    type_names = list(TYPES)
    rows = []
    phone = 0
    for key, (en, zh, code, count, anchors, streets) in DISTRICTS.items():
        en_area, zh_area = ("Pudong New Area", "浦东新区") if key == "pudong" else (f"{en} District", f"{zh}区")
        used: set[tuple[int, str]] = set()  # no two services in a district share a name
        for number in range(1, count + 1):
            kind = rng.choices(type_names, weights=[TYPES[t][0] for t in type_names])[0]
            _, kind_en, kind_zh = TYPES[kind]
            ages, hours, (fee_low, fee_high), (cap_low, cap_high), odds = PROFILES[kind]
            word = rng.randrange(len(WORDS))
            while (word, kind) in used:
                word = rng.randrange(len(WORDS))
            used.add((word, kind))
            word_en, word_zh = WORDS[word]
            lat, lon = _point(rng, *anchors[rng.randrange(len(anchors))])
            street_en, street_zh = streets[rng.randrange(len(streets))]
            house = rng.randint(1, 1800)
            age_min, age_max = rng.choice(ages)
            fee_min, fee_max = _fees(rng, fee_low, fee_high)
            capacity = rng.randint(cap_low, cap_high)
            vacancies = 0 if rng.random() < 0.3 else rng.randint(1, max(1, capacity // 4))
            registration = _choose(rng, odds)
            registered_year = rng.randint(2021, 2026)
            phone += 1
            inspected = ""
            if registration in ("registered", "pending"):
                inspected = f"{rng.choice([2025, 2026])}-{rng.randint(1, 10):02d}-{rng.randint(1, 28):02d}"
            rows.append({
                "id": f"demo-sh-{key}-{number:03d}",
                "name_en": f"Demo: {word_en} {kind_en} ({en})",
                "name_zh": f"{word_zh}{kind_zh}（{zh}）（演示）",
                "type": kind,
                "address_en": f"{house} {street_en}, {en_area}, Shanghai",
                "address_zh": f"上海市{zh_area}{street_zh}{house}号",
                "district": en, "city": "Shanghai", "lat": f"{lat:.6f}", "lon": f"{lon:.6f}",
                "age_min_months": age_min, "age_max_months": age_max,
                "opening_hours": rng.choice(hours),
                "fee_min_cny": fee_min, "fee_max_cny": fee_max, "capacity": capacity, "vacancies": vacancies,
                "registration": registration,
                "registration_number": (f"DEMO-TY-{code}-{registered_year}-{rng.randint(1, 9999):04d}"
                                        if registration == "registered" else ""),
                "phone": f"021-5550{phone:04d}",
                "last_inspection": inspected,
                "source": "Sprout demo data", "updated": UPDATED, "is_demo": 1,
            })
    return rows


def main() -> None:
    rows = generate()
    with OUTPUT.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    print(f"wrote {len(rows)} demo services to {OUTPUT}")


if __name__ == "__main__":
    main()
