"""Simplified Chinese words for the demo catalogue (core/demo/catalog.py), so `lang="zh"` builds a Chinese shop.

Keyed by the English word, so both languages draw the same random choices and only the words differ: the same
seed gives the same items, prices, customers and events. Within a category no two English words share a Chinese
one (tests/test_demo_zh.py checks that), or two distinct English titles could merge into one Chinese title.
Sizes and units such as "500g", "128GB" or "35mm" are written the same way in Chinese shops and stay as they are.
"""

from __future__ import annotations

CATEGORIES: dict[str, str] = {
    "Running shoes": "跑鞋",
    "Sportswear": "运动服饰",
    "Skincare": "护肤",
    "Makeup": "彩妆",
    "Coffee & tea": "咖啡茶饮",
    "Cameras": "相机",
    "Camera gear": "摄影配件",
    "Audio": "耳机音箱",
    "Phone accessories": "手机配件",
    "Baby care": "母婴用品",
    "Pet supplies": "宠物用品",
    "Snacks": "休闲零食",
}

BRANDS: dict[str, str] = {
    "Stride": "步跃", "Apex Run": "巅峰跑", "Feiyue Pro": "飞跃专业", "Cloudstep": "云步", "Trackline": "赛道",
    "Motion Lab": "动研社", "Pulse": "脉动", "Northpeak": "北峰",
    "Lumi": "露米", "Aqua Veil": "水漾", "Herbora": "草本集", "Dermacalm": "肤宁", "Yunshan": "云山",
    "Rouge Lab": "胭脂研", "Petal": "花瓣", "Velvet Muse": "丝绒缪斯", "Huaxi": "花西",
    "Morning Ritual": "晨间仪式", "Hill Roast": "山丘烘焙", "Yunnan Origin": "云南原产", "Brewcraft": "匠萃",
    "Tea Garden": "茶园",
    "Kiyo": "绮羽", "Lensmark": "镜界", "Optiq": "光启", "Fotora": "福图", "Gearbox": "器材盒",
    "Sonique": "声纳", "Beatline": "节拍线", "Echo Bay": "回声湾", "Xinsheng": "心声",
    "Chargewell": "充好", "Shellguard": "壳卫", "Voltix": "伏特", "Mofang": "魔方",
    "Little Panda": "小熊猫", "Softnest": "柔巢", "Bebe Bloom": "贝贝花", "Mimi": "咪咪",
    "Happy Paws": "快乐爪", "Whisker Co": "胡须社", "Petwell": "宠安", "Miao Miao": "喵喵",
    "Crunchy Fox": "脆狐狸", "Golden Harvest": "金丰收", "Sweet Isle": "甜岛", "Laoxiang": "老乡",
}

ADJECTIVES: dict[str, str] = {
    "Lightweight": "轻量", "Cushioned": "缓震", "Breathable": "透气", "Responsive": "高回弹", "Stable": "稳定支撑",
    "Waterproof": "防水",
    "Quick-dry": "速干", "Seamless": "无缝", "Reflective": "反光", "Stretch": "弹力", "Thermal": "保暖",
    "Hydrating": "补水", "Brightening": "亮肤", "Gentle": "温和", "Soothing": "舒缓", "Firming": "紧致",
    "Oil-free": "清爽无油",
    "Matte": "哑光", "Long-wear": "持久", "Dewy": "水光", "Sheer": "轻薄",
    "Single-origin": "单一产区", "Dark roast": "深度烘焙", "Organic": "有机", "Fragrant": "清香", "Smooth": "顺滑",
    "Hand-picked": "手工采摘",
    "Compact": "便携", "Full-frame": "全画幅", "Vlogging": "Vlog", "Rugged": "三防", "Retro": "复古",
    "Fast": "高速", "Weather-sealed": "防尘防滴", "Travel": "旅行", "Pro": "专业",
    "Wireless": "无线", "Noise-cancelling": "降噪", "Studio": "录音室级", "Bass-boosted": "重低音",
    "Slim": "超薄", "Magnetic": "磁吸", "Shockproof": "防摔", "Clear": "透明",
    "Hypoallergenic": "低敏", "Ultra-soft": "超柔", "Leak-proof": "防漏",
    "Grain-free": "无谷", "Natural": "天然", "Clumping": "结团", "Chewy": "耐嚼", "Cozy": "舒适",
    "Spicy": "香辣", "Roasted": "烘烤", "Sugar-free": "无糖", "Crispy": "香脆", "Honey": "蜂蜜",
}

NOUNS: dict[str, str] = {
    "running shoes": "跑鞋", "trail runners": "越野跑鞋", "racing flats": "竞速跑鞋",
    "running socks": "跑步袜", "running shorts": "跑步短裤", "training tee": "训练T恤",
    "compression tights": "压缩紧身裤", "hydration vest": "跑步水袋背心",
    "face serum": "精华液", "moisturizer": "保湿面霜", "sunscreen SPF50": "防晒霜 SPF50", "cleanser": "洁面乳",
    "sheet mask pack": "面膜套装",
    "lipstick": "口红", "lip liner": "唇线笔", "foundation": "粉底液", "makeup sponge": "美妆蛋", "mascara": "睫毛膏",
    "eyeshadow palette": "眼影盘",
    "coffee beans": "咖啡豆", "drip coffee bags": "挂耳咖啡", "espresso machine": "意式咖啡机", "milk frother": "奶泡机",
    "oolong tea": "乌龙茶", "green tea": "绿茶",
    "mirrorless camera": "微单相机", "action camera": "运动相机", "instant camera": "拍立得相机",
    "prime lens": "定焦镜头", "zoom lens": "变焦镜头", "memory card": "存储卡", "camera bag": "相机包",
    "camera mount": "相机支架", "instant film": "拍立得相纸", "tripod": "三脚架",
    "earbuds": "真无线耳机", "over-ear headphones": "头戴式耳机", "bluetooth speaker": "蓝牙音箱",
    "earbud case": "耳机保护套",
    "phone case": "手机壳", "screen protector": "钢化膜", "fast charger": "快充充电器", "charging cable": "充电线",
    "power bank": "充电宝",
    "diapers": "纸尿裤", "baby wipes": "婴儿湿巾", "baby stroller": "婴儿推车", "stroller organizer": "推车收纳袋",
    "baby bottle": "奶瓶", "bottle brush": "奶瓶刷",
    "cat food": "猫粮", "dog treats": "狗零食", "cat litter": "猫砂", "pet bed": "宠物窝", "cat scratcher": "猫抓板",
    "cat toy set": "猫玩具套装",
    "mixed nuts": "每日坚果", "dried mango": "芒果干", "rice crackers": "米饼", "dark chocolate": "黑巧克力",
    "beef jerky": "牛肉干",
}

FEATURES: dict[str, str] = {
    "with a carbon-plated midsole": "碳板中底", "with a grippy rubber outsole": "防滑橡胶大底",
    "with a knit upper": "针织鞋面", "for daily mileage": "适合日常训练",
    "in moisture-wicking fabric": "吸湿排汗面料", "with flat seams": "平缝工艺", "with a zip pocket": "带拉链口袋",
    "made from recycled polyester": "再生聚酯纤维",
    "with hyaluronic acid": "含玻尿酸", "with niacinamide": "含烟酰胺", "with green tea extract": "含绿茶精华",
    "fragrance free": "无香精", "for sensitive skin": "敏感肌适用",
    "in a buildable formula": "可叠加上妆", "that lasts all day": "全天持妆", "with a satin finish": "缎光质感",
    "cruelty free": "零残忍认证",
    "with chocolate notes": "带巧克力风味", "with a floral aroma": "花香馥郁", "freshly packed": "新鲜包装",
    "from high-altitude farms": "高海拔产区",
    "with 4K video": "支持4K视频", "with in-body stabilisation": "机身防抖", "with a flip screen": "翻转屏",
    "with fast autofocus": "快速对焦",
    "for sharp portraits": "人像锐利", "for landscapes": "风光摄影", "that fits any body": "适配多款机身",
    "with quick release": "快装设计",
    "with 30-hour battery": "30小时续航", "with spatial audio": "空间音频", "with a low-latency mode": "低延迟模式",
    "with multipoint pairing": "多设备连接",
    "with MagSafe support": "支持MagSafe", "with a drop-tested frame": "防摔边框", "with 65W output": "65W输出",
    "with a braided cable": "编织线材",
    "for newborns": "新生儿适用", "dermatologist tested": "皮肤科测试", "with a wetness indicator": "尿显设计",
    "made without parabens": "不含防腐剂",
    "with real salmon": "真三文鱼", "vet recommended": "兽医推荐", "low dust": "低粉尘", "with a washable cover": "可拆洗",
    "in a resealable bag": "自封袋装", "with no artificial colours": "无人工色素", "lightly salted": "微盐",
    "from a family recipe": "家传配方",
}

VARIANTS: dict[str, str] = {
    "Men's": "男款", "Women's": "女款", "Unisex": "男女同款",
    "S": "S码", "M": "M码", "L": "L码", "XL": "XL码",
    "travel size": "旅行装",
    "Rose": "玫瑰色", "Coral": "珊瑚色", "Nude": "裸色", "Berry": "莓果色", "Classic": "经典色",
    "gift box": "礼盒装",
    "body only": "单机身", "kit": "套机", "black": "黑色", "silver": "银色",
    "standard": "标准版",
    "white": "白色", "navy": "藏青色", "sand": "沙色",
    "iPhone": "iPhone版", "Android": "安卓版", "USB-C": "USB-C接口", "universal": "通用款",
    "size S": "S码", "size M": "M码", "size L": "L码", "family pack": "家庭装",
    "small": "小号", "large": "大号",
    "party pack": "分享装",
}

REGIONS: dict[str, str] = {
    "Shanghai": "上海", "Beijing": "北京", "Shenzhen": "深圳", "Guangzhou": "广州", "Hangzhou": "杭州",
    "Chengdu": "成都", "Wuhan": "武汉", "Nanjing": "南京", "Hong Kong": "香港", "Singapore": "新加坡",
}

EXPERIMENT_NAME = "演示：春季优惠券活动"


def unit_or(table: dict[str, str], word: str) -> str:
    """The Chinese word, or the word itself for sizes and units ("500g", "128GB") that read the same."""
    if word in table:
        return table[word]
    if any(ch.isdigit() for ch in word):
        return word
    raise KeyError(f"no Chinese word for {word!r} in the demo vocabulary (core/demo/vocab_zh.py)")
