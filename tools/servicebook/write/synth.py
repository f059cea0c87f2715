"""Synthetic servicebook repositories: N valid records of every kind, for benchmarks and tests.

``generate(out, n, seed)`` writes a complete repository at ``out``: the schemas (and the SLA
policies and calendars, when the source repository has them) plus ``n`` records under
``records/``. The corpus looks like a real one: a few people, customers, products, spare parts and
knowledge-base entries; deal chains (survey -> appraisal -> solution -> feasibility -> contract ->
installation) with bids and their communications, the delivery records of signed contracts and the
routine inspections of handed-over installations; and, dominant, service cases (complaint ->
repair -> callback, with part requests) with Chinese text of about 2 KB per record. Every chain is
consistent: references exist and point forward in time, histories follow ``lifecycle.yaml``, and
approval steps are entered by holders of the approving role who did not fill the form.

Deterministic for a seed (IDs included). Fast: records are plain dicts written by a small YAML
emitter, so 100k records take seconds rather than minutes.
"""

from __future__ import annotations

import json
import os
import random
import re
import shutil
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable

from servicebook.derive.schedules import add_months, due_months, with_new_product_months
from servicebook.load.instants import parse_date
from servicebook.load.records import KINDS, RECORDS_DIR, SCHEMAS_DIR

# The kinds this generator writes (the record model of the foundation issue).
REFERENCE = ("person", "customer", "product")
DEAL = ("survey", "appraisal", "solution", "feasibility", "contract", "installation")
SERVICE = ("complaint", "repair", "callback")
PRESALES = ("bid", "communication")  # bids on a deal, and what was agreed in writing on it
DELIVERY = ("requirements", "progress", "change", "risk", "problem")  # after a contract is signed
AFTERSALES = ("part", "kb", "inspection", "part-request")
GENERATED_KINDS = REFERENCE + DEAL + SERVICE + PRESALES + DELIVERY + AFTERSALES
# the generated kinds that have a lifecycle (a status and its history)
LIFECYCLE_KINDS = DEAL + SERVICE + ("bid", "requirements", "change", "risk", "problem", "kb", "inspection",
                                    "part-request")
COPIED_RECORD_FOLDERS = ("policy", "calendar")  # shipped by the SLA engine; copied when present

_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
FIRST_DAY = date(2025, 1, 6)  # a Monday; the statutory holiday data covers 2025-2026
LAST_DAY = date(2026, 11, 20)
COMPANY = "华信通服务有限公司"


# ------------------------------------------------------------------------------------- YAML

# a block-context plain scalar: starts with a letter or CJK character, no ": " or " #", no line
# breaks, quotes or backslashes, no trailing colon or space; YAML 1.1 keywords are quoted
_FIRST = re.compile(r"[A-Za-z\u3000-\u9fff\uff00-\uffef]")
_BAD = re.compile(r"[\n'\"\\\t]|: |:$| #| $")
_RESERVED = {"y", "n", "yes", "no", "on", "off", "true", "false", "null", "~"}


@lru_cache(maxsize=1 << 16)
def _text(s: str) -> str:
    if s and _FIRST.match(s) and not _BAD.search(s) and s.lower() not in _RESERVED:
        return s
    return json.dumps(s, ensure_ascii=False)


def _scalar(value: Any) -> str:
    if value.__class__ is str:
        return _text(value)
    if value is True:
        return "true"
    if value is False:
        return "false"
    if value is None:
        return "null"
    return repr(value)


def _emit(value: Any, indent: str, out: list[str]) -> None:
    """Block-style YAML of a dict (keys are plain identifiers) at ``indent``."""
    for key, v in value.items():
        if isinstance(v, dict):
            out.append(f"{indent}{key}:\n")
            _emit(v, indent + "  ", out)
        elif isinstance(v, list):
            if not v:
                out.append(f"{indent}{key}: []\n")
                continue
            out.append(f"{indent}{key}:\n")
            for item in v:
                if isinstance(item, dict):
                    first = True
                    sub: list[str] = []
                    _emit(item, indent + "  ", sub)
                    for line in sub:
                        if first:
                            out.append(f"{indent}- {line[len(indent) + 2:]}")
                            first = False
                        else:
                            out.append(line)
                else:
                    out.append(f"{indent}- {_scalar(item)}\n")
        else:
            out.append(f"{indent}{key}: {_scalar(v)}\n")


def dump(data: dict, kind: str) -> str:
    case = KINDS[kind].case
    out = [f"# yaml-language-server: $schema=../../{'../' if case else ''}{SCHEMAS_DIR}/{kind}.schema.json\n"]
    _emit(data, "", out)
    return "".join(out)


# ------------------------------------------------------------------------------------- pools

ROLES = ["general_manager", "sales_manager", "salesperson", "technical_engineer",
         "technical_manager", "customer_service", "cs_manager", "administration",
         "delivery_specialist", "station_head", "parts_planner", "management"]
DEPARTMENT = {"general_manager": "executive", "sales_manager": "sales", "salesperson": "sales",
              "technical_engineer": "technical", "technical_manager": "technical",
              "customer_service": "customer_service", "cs_manager": "customer_service",
              "administration": "administration", "delivery_specialist": "delivery",
              "station_head": "technical", "parts_planner": "parts", "management": "management"}
# share of the staff per role (at least one person each)
ROLE_WEIGHT = {"general_manager": 0.01, "sales_manager": 0.05, "salesperson": 0.2,
               "technical_engineer": 0.3, "technical_manager": 0.03, "customer_service": 0.15,
               "cs_manager": 0.03, "administration": 0.05, "delivery_specialist": 0.05,
               "station_head": 0.06, "parts_planner": 0.03, "management": 0.03}
SURNAMES = [("王", "wang"), ("李", "li"), ("张", "zhang"), ("刘", "liu"), ("陈", "chen"), ("杨", "yang"),
            ("黄", "huang"), ("赵", "zhao"), ("吴", "wu"), ("周", "zhou"), ("徐", "xu"), ("孙", "sun"),
            ("马", "ma"), ("朱", "zhu"), ("胡", "hu"), ("郭", "guo"), ("何", "he"), ("高", "gao"),
            ("林", "lin"), ("罗", "luo"), ("郑", "zheng"), ("梁", "liang"), ("谢", "xie"), ("宋", "song")]
GIVEN = [("伟", "wei"), ("芳", "fang"), ("娜", "na"), ("敏", "min"), ("静", "jing"), ("磊", "lei"),
         ("强", "qiang"), ("洋", "yang"), ("勇", "yong"), ("艳", "yan"), ("杰", "jie"), ("涛", "tao"),
         ("明", "ming"), ("超", "chao"), ("秀英", "xiuying"), ("建华", "jianhua"), ("志强", "zhiqiang"),
         ("海燕", "haiyan"), ("俊", "jun"), ("欣", "xin"), ("晓东", "xiaodong"), ("丽", "li"),
         ("国庆", "guoqing"), ("雪", "xue")]
REGIONS = [("华北", ["北京市朝阳区", "天津市滨海新区", "河北省石家庄市", "山西省太原市"]),
           ("华东", ["上海市浦东新区", "江苏省苏州市", "浙江省杭州市", "山东省济南市"]),
           ("华南", ["广东省广州市", "广东省深圳市", "福建省厦门市", "广西南宁市"]),
           ("西南", ["四川省成都市", "重庆市渝北区", "云南省昆明市", "贵州省贵阳市"]),
           ("东北", ["辽宁省沈阳市", "吉林省长春市", "黑龙江省哈尔滨市", "辽宁省大连市"])]
STREETS = ["人民路", "建设大道", "解放路", "中山路", "工业园大道", "科技路", "长江路", "滨河路", "发展大道"]
CO_WORDS = ["恒达", "华通", "盛源", "东方", "远航", "金桥", "瑞丰", "宏图", "新城", "长兴", "天元",
            "鑫泰", "安达", "嘉禾", "宝利", "中兴源", "立信", "永昌", "北辰", "海川"]
INDUSTRIES = [("物流", "telecom"), ("酒店", "telecom"), ("学校", "telecom"), ("医疗", "telecom"),
              ("金融", "telecom"), ("制造", "telecom"), ("商品混凝土", "machinery"),
              ("路桥施工", "machinery"), ("市政工程", "machinery"), ("房建施工", "machinery"),
              ("港口建设", "machinery"), ("矿山", "machinery")]
CO_SUFFIX = {"物流": "物流有限公司", "酒店": "大酒店有限公司", "学校": "职业技术学院", "医疗": "医疗集团",
             "金融": "证券营业部", "制造": "实业有限公司", "商品混凝土": "商砼有限公司",
             "路桥施工": "路桥工程有限公司", "市政工程": "市政工程有限公司", "房建施工": "建工集团有限公司",
             "港口建设": "港务建设有限公司", "矿山": "矿业有限公司"}
POSITIONS = ["设备部经理", "信息中心主任", "行政主管", "机械科长", "总经理助理", "IT 主管", "采购经理", "机长"]

# product catalogue: (slug, name, line, category, model, unit price, weight, inspection months)
CATALOGUE = [
    ("ipbx-800", "IPBX-800 IP 程控交换机", "telecom", "pbx", "IPBX-800", 68000, "core", [1, 3, 6, 12]),
    ("vg-2000", "VG-2000 VoIP 语音网关", "telecom", "voip_gateway", "VG-2000", 12800, "growth", [1, 2, 3, 6, 9, 12]),
    ("p20-phone", "P20 IP 话机", "telecom", "ip_phone", "P20", 680, "standard", [12]),
    ("biz-broadband", "企业宽带专线", "telecom", "broadband", "BB-200", 9800, "standard", [6, 12]),
    ("hb56-pump-truck", "HB56 混凝土泵车", "machinery", "pump_truck", "HB56", 3680000, "core", [1, 3, 6, 12]),
    ("hbt80-concrete-pump", "HBT80 拖式混凝土输送泵", "machinery", "concrete_pump", "HBT80", 620000, "core", [1, 3, 6, 12]),
    ("yz26-roller", "YZ26 单钢轮振动压路机", "machinery", "roller", "YZ26", 860000, "standard", [1, 6, 12]),
    ("lt1200-paver", "LT1200 沥青摊铺机", "machinery", "paver", "LT1200", 2350000, "growth", [1, 2, 3, 6, 9, 12]),
    ("qtz160-tower-crane", "QTZ160 塔式起重机", "machinery", "tower_crane", "QTZ160", 1450000, "growth", [1, 3, 6, 12]),
    ("xm100-milling", "XM100 路面铣刨机", "machinery", "milling_machine", "XM100", 1980000, "standard", [1, 6, 12]),
]
BRAND = {"telecom": "华信通讯", "machinery": "华信重工"}

# fault scenarios per category: (problem, cause, steps, fault category, code, diagnosis steps, root
# cause, replaced part or None, technical quality?)
FAULTS: dict[str, list[tuple]] = {
    "pbx": [
        ("外线全部忙音,E1 中继板告警灯常亮", "运营商割接后帧格式变化,本端未同步",
         ["远程登录确认告警", "核对运营商割接单", "修改帧格式并复位中继板", "拨测外线正常"],
         "electrical", "PBX-E1-LOS",
         [("E1 告警 LOF 持续", "核对帧格式", "两端不一致"), ("帧格式不一致", "修改并复位", "告警消失")],
         "运营商变更未通知", None, False),
        ("话单缺失,无法出具月度账单", "话单存储分区已满",
         ["导出并归档历史话单", "清理分区并开启告警", "从网关日志补录"], "other", "PBX-CDR-FULL",
         [("存储已满", "清理扩容", "新话单写入正常"), ("缺失话单", "日志补录", "补录完成")],
         "出厂未启用满盘告警", None, True),
        ("部分分机振铃无声,来电显示正常", "用户板振铃电压模块老化",
         ["测量振铃电压", "更换用户板", "逐一拨测分机"], "electrical", "PBX-RING-LOW",
         [("振铃电压仅 45 V", "测量用户板输出", "定位用户板"), ("用户板老化", "更换用户板", "振铃正常")],
         "元件老化", ("PBX-SLC-16", "16 路用户板"), True),
    ],
    "voip_gateway": [
        ("通过网关拨打分支机构出现单通", "客户路由器开启 SIP ALG 改写媒体地址",
         ["抓包确认 SDP 地址被改写", "关闭路由器 SIP ALG", "固定 RTP 端口并映射", "拨测无单通"],
         "other", "VG-RTP-NAT",
         [("怀疑 NAT 问题", "抓包", "SDP 地址被改写"), ("SIP ALG 干扰", "关闭 ALG", "双向通话正常")],
         "客户网络变更", None, False),
        ("网关反复自动重启,长途中断", "电源模块电容鼓包",
         ["查看日志", "测量电源输出", "更换电源模块", "满负荷测试"], "electrical", "VG-PWR-01",
         [("频繁掉电复位", "测量电源", "输出波动"), ("电源模块故障", "更换电源模块", "运行稳定")],
         "电源模块批次质量问题", ("VG-PSU-60W", "电源模块 60W"), True),
        ("长途通话回声明显", "回声抵消参数不适配线路",
         ["录音分析回声延迟", "调整回声抵消尾长", "调整增益"], "other", "VG-ECHO",
         [("回声延迟 120 ms", "调整尾长", "明显减轻"), ("残余回声", "降低增益", "客户满意")],
         "默认参数不适合长距离线路", None, True),
    ],
    "ip_phone": [
        ("多部话机无法开机", "PoE 交换机功率预算不足,另有一部话机主板损坏",
         ["检查 PoE 预算", "调整端口优先级", "更换故障话机"], "electrical", "P20-NOPWR",
         [("PoE 超预算", "调整优先级", "多数恢复"), ("一部仍不亮", "整机更换", "正常注册")],
         "客户新增设备占用 PoE 功率", ("P20-UNIT", "P20 话机"), True),
    ],
    "broadband": [
        ("专线夜间频繁掉线", "光猫安装位置散热不良导致过热重启",
         ["调取掉线日志", "现场测温", "更换宽温光猫并移位"], "electrical", "BB-ONU-TEMP",
         [("怀疑过热", "测温", "弱电箱 57℃"), ("光猫过热", "更换并移位", "72 小时无掉线")],
         "安装位置散热不良", ("ONU-W300", "宽温光猫"), True),
    ],
    "pump_truck": [
        ("臂架油缸活塞杆处渗油,臂架停放后下沉", "油缸密封件早期磨损",
         ["确认渗漏位置", "更换油缸密封组件", "保压测试", "全面检查液压系统"], "hydraulic", "HB-BOOM-LEAK",
         [("活塞杆渗油", "拆检油缸", "密封圈划伤"), ("密封件磨损", "更换密封组件", "渗漏消失"),
          ("保压测试", "全展开保压 30 分钟", "无下沉")],
         "密封件批次质量问题", ("HB56-SEAL-K2", "臂架油缸密封组件"), True),
        ("泵送压力上不去,高层泵送困难", "主溢流阀阀芯卡滞",
         ["测主油路压力", "拆洗主溢流阀", "更换阀芯", "复测压力"], "hydraulic", "HB-MAIN-PRS-LOW",
         [("压力 18 MPa", "测压", "偏低"), ("阀芯卡滞", "拆洗并更换阀芯", "压力 32 MPa")],
         "换油时未换滤芯,杂质进入阀芯", ("HB-RV-32", "主溢流阀阀芯"), True),
        ("臂架遥控器无响应,只能面板操作", "遥控接收器进水,端子氧化",
         ["检查遥控器配对", "拆检接收器", "更换接收器并加防水罩"], "electrical", "HB-RC-NOSIG",
         [("遥控器正常", "备用遥控器测试", "仍无响应"), ("接收器故障", "更换接收器", "恢复")],
         "接收器防水等级不足", ("HB-RX-433", "遥控接收器"), True),
        ("底盘发动机无法启动", "客户加装的第三方终端耗电导致蓄电池亏电",
         ["搭电启动", "测静态电流", "建议加装断电开关"], "electrical", "HB-ENG-NOSTART",
         [("亏电", "搭电启动", "启动成功"), ("漏电源", "测静态电流", "第三方终端耗电")],
         "客户加装设备耗电", None, False),
    ],
    "concrete_pump": [
        ("S 阀摆动无力,出料不连续", "蓄能器氮气压力不足",
         ["测蓄能器预充压力", "补充氮气", "试泵"], "hydraulic", "HBT-SV-WEAK",
         [("换向无力", "测蓄能器压力", "6 MPa 偏低"), ("氮气不足", "充氮至 10 MPa", "换向正常")],
         "蓄能器自然泄压", None, True),
        ("频繁堵管", "混凝土坍落度偏低且弯头过多",
         ["测坍落度", "协调调整配比", "优化管路布置", "培训反泵操作"], "other", "HBT-PIPE-BLOCK",
         [("堵管点在弯头", "拆管清理", "暂时恢复"), ("坍落度低", "调整配比", "连续泵送无堵管")],
         "配比与管路布置不当", None, False),
    ],
    "roller": [
        ("振动无法启动,行走正常", "振动泵电磁阀线圈烧毁",
         ["测线圈电阻", "更换线圈", "检查线束", "试振"], "electrical", "YZ-VIB-COIL",
         [("振动无输出", "测供电", "24 V 正常"), ("线圈开路", "更换线圈", "振动正常")],
         "线圈接头进水", ("YZ-SOL-24V", "振动泵电磁阀线圈"), True),
        ("作业两小时后液压油温报警", "散热器被粉尘堵塞",
         ["检查散热器", "吹扫散热器", "更换滤芯", "讲解保养"], "hydraulic", "YZ-OIL-HOT",
         [("散热不良", "检查散热器", "堵塞 70%"), ("清理", "吹扫并换滤芯", "油温正常")],
         "保养不到位", None, False),
    ],
    "paver": [
        ("熨平板单侧加热不工作,摊铺面拉痕", "加热继电器触点烧蚀",
         ["检查加热回路", "更换继电器", "紧固热电偶接线", "测温"], "electrical", "LT-SCR-HEAT",
         [("单侧不加热", "测继电器输出", "无输出"), ("继电器烧蚀", "更换继电器", "加热正常")],
         "继电器容量余量不足", ("LT-RLY-80A", "加热继电器 80A"), True),
        ("刮板输送链断裂,无法供料", "链条销轴早期磨损",
         ["拆下断链", "调拨链条总成", "更换并张紧", "负载试验"], "mechanical", "LT-CONV-CHAIN",
         [("链条断裂", "拆检", "销轴磨损"), ("需更换总成", "更换输送链", "供料正常")],
         "链条热处理不良", ("LT-CHAIN-L", "输送链总成"), True),
    ],
    "tower_crane": [
        ("起升制动器打滑,吊重悬停下滑", "制动片磨损超限",
         ["停机挂牌", "测制动间隙", "更换制动片", "110% 载荷试验"], "mechanical", "QTZ-HOIST-BRK",
         [("制动打滑", "测间隙", "2.1 mm 超标"), ("制动片磨损", "更换制动片", "间隙正常"),
          ("载荷试验", "110% 静载", "无下滑")],
         "制动片耐磨性不足", ("QTZ-BRK-PAD", "起升制动片"), True),
        ("回转限位频繁报警", "限位器凸轮被误调",
         ["检查限位器", "重新调整凸轮", "试回转", "贴封条"], "electrical", "QTZ-SLEW-LIM",
         [("限位提前动作", "检查凸轮", "位置错误"), ("重新调整", "调整并试验", "正常")],
         "非专业人员调整", None, False),
    ],
    "milling_machine": [
        ("铣刨鼓转速下降,刀头磨损快", "铣刨鼓液压马达内泄",
         ["测马达泄漏量", "更换马达密封", "检查刀座"], "hydraulic", "XM-DRUM-SLOW",
         [("转速低", "测泄漏量", "超标"), ("马达内泄", "更换密封", "转速正常")],
         "马达密封老化", ("XM-MOTOR-SEAL", "马达密封组件"), True),
    ],
}
CONTEXT = ["客户来电称", "机长反映", "客户 IT 主管报告", "现场负责人微信反映", "客户设备员报修称",
           "客户邮件反映"]
WHEN = ["今天上午", "昨晚交班时", "连续作业后", "雨后开机时", "早上开机时", "中午高峰期间", "夜班作业中"]
IMPACT = ["影响当天施工进度", "客户较着急", "已临时改用备用方案", "客户要求尽快到场", "暂不影响主要业务",
          "前台业务受到影响", "客户担心延误工期"]
OPINIONS = ["处理及时,满意", "工程师讲解清楚,今后会注意保养", "等配件时间较长,希望片区多备件",
            "周末也能到场,很满意", "问题解决了,希望回访早一点", "服务态度好", "第二次来才修好,一般"]
REQUIREMENTS = {"telecom": ["统一语音平台,降低长途话费", "分支机构内部通话免费", "旧程控机停产需平滑割接",
                            "新增分机并统一号段", "国际长途费用高,希望使用 VoIP", "录音合规"],
                "machinery": ["新增设备覆盖新项目", "分期付款,要求按期进场", "需要操作手培训",
                              "配件 24 小时到位", "雨季前到位", "替换老旧设备"]}
LOST = ["竞争对手报价低 15% 以上", "客户项目暂停", "总经理否决可行性,客户不接受提价", "客户转用运营商云服务",
        "付款条件无法达成一致"]
ROUND = {"price_cut": ["客户要求降价 8%,同意 4%", "客户要求再降 3%,待经理决定", "同意让利 3% 并赠送易损件"],
         "contract_change": ["付款期由 24 期改为 30 期", "违约金条款改为对等", "交货期由 30 天改为 20 天"],
         "other": ["客户要求增加施工时间限制条款", "客户要求提供备用机"]}


# ------------------------------------------------------------------------------------- model


@dataclass
class _Ctx:
    rng: random.Random
    days: list[str]
    people: dict[str, list[str]] = field(default_factory=dict)  # role -> person IDs
    customers: list[dict] = field(default_factory=list)
    products: dict[str, list[dict]] = field(default_factory=dict)  # line -> products
    contracts: dict[str, list[tuple]] = field(default_factory=dict)  # customer -> [(id, at, tier, devices)]
    taken: set[str] = field(default_factory=set)
    day_index: dict[str, int] = field(default_factory=dict)  # "2026-11-20" -> index in days
    end: int = 0  # the last minute of the corpus's last day: nothing is filed after it
    parts: dict[str, str] = field(default_factory=dict)  # part number -> part record ID

    @property
    def last_day(self) -> date:
        return parse_date(self.days[self.end // 1440])

    def day_minute(self, day: date, hour: int = 9) -> int:
        """The minute of ``hour`` o'clock on ``day`` (a day of the corpus)."""
        return self.day_index[day.isoformat()] * 1440 + hour * 60

    def instant(self, minute: int) -> str:
        day, tod = divmod(minute, 1440)
        return f"{self.days[min(day, len(self.days) - 1)]}T{tod // 60:02d}:{tod % 60:02d}:00+08:00"

    def new_id(self, kind: str, minute: int) -> str:
        day = self.days[min(minute // 1440, len(self.days) - 1)].replace("-", "")
        prefix = KINDS[kind].prefix
        rnd = self.rng.getrandbits
        while True:
            bits = rnd(30)
            tail = "".join(_ALPHABET[(bits >> s) & 31] for s in (25, 20, 15, 10, 5, 0))
            rid = f"{prefix}-{day}-{tail}"
            if rid not in self.taken:
                self.taken.add(rid)
                return rid

    def who(self, role: str) -> str:
        return self.rng.choice(self.people[role])


def _phone(rng: random.Random) -> str:
    return f"13{rng.randrange(10)}0013{rng.randrange(10000):04d}"


def _people(ctx: _Ctx, n: int) -> list[dict]:
    rng, out, used = ctx.rng, [], set()
    counts = {r: max(1, round(n * w)) for r, w in ROLE_WEIGHT.items()}
    counts["general_manager"] = 1
    for role, count in counts.items():
        ctx.people[role] = []
        for _ in range(count):
            (s, sp), (g, gp) = rng.choice(SURNAMES), rng.choice(GIVEN)
            slug, k = f"{sp}-{gp}", 2
            while slug in used:
                slug, k = f"{sp}-{gp}-{k}", k + 1
            used.add(slug)
            pid = f"P-{slug}"
            d = {"id": pid, "schema_version": 1, "name": s + g,
                 "name_en": f"{sp.capitalize()} {gp.capitalize()}", "roles": [role],
                 "department": DEPARTMENT[role], "region": rng.choice(REGIONS)[0]}
            if role == "technical_engineer":
                d["technical_grade"] = rng.randint(1, 5)
            d["git"] = {"name": d["name_en"], "email": f"{slug.replace('-', '.')}@huaxin-service.example",
                        "handle": slug}
            ctx.people[role].append(pid)
            out.append(d)
    return out


def _customers(ctx: _Ctx, n: int) -> list[dict]:
    rng, out, used = ctx.rng, [], set()
    for i in range(n):
        region, cities = rng.choice(REGIONS)
        industry, line = rng.choice(INDUSTRIES)
        word = rng.choice(CO_WORDS)
        slug = f"cu{i:05d}"
        name = f"{cities[0][:2]}{word}{CO_SUFFIX[industry]}"
        while name in used:
            name = f"{rng.choice(cities)[:2]}{rng.choice(CO_WORDS)}{word}{CO_SUFFIX[industry]}"
            if name in used:
                name = f"{name[:-4]}{i}{name[-4:]}"
        used.add(name)
        tier = rng.choice(("vip", "standard", "standard"))
        contacts = []
        for _ in range(rng.randint(1, 3)):
            (s, sp), g = rng.choice(SURNAMES), rng.choice(GIVEN)[0]
            contacts.append({"name": s + g, "position": rng.choice(POSITIONS), "phone": _phone(rng),
                             "email": f"{sp}{rng.randrange(100)}@example.com"})
        d = {"id": f"CU-{slug}", "schema_version": 1, "name": name, "short_name": word + industry,
             "address": f"{rng.choice(cities)}{rng.choice(STREETS)} {rng.randint(1, 999)} 号",
             "region": region, "industry": industry,
             "size": rng.choice(("small", "medium", "large", "key_account")), "contacts": contacts,
             "service_tier": tier,
             "value_inputs": {"annual_maintenance_fees": {"amount": rng.randrange(0, 300000, 1000),
                                                          "currency": "CNY"},
                              "receivables_on_time_pct": rng.randint(60, 100),
                              "repurchase_intent": rng.randint(1, 5), "proactive_contact": rng.randint(1, 5),
                              "referrals": rng.randint(0, 4), "coordination_ease": rng.randint(1, 5),
                              "rating_vs_resources": rng.randint(1, 5), "influence": rng.randint(1, 5)},
             "since": ctx.days[0]}
        d["_line"] = line
        out.append(d)
    return out


def _products(ctx: _Ctx, n: int) -> list[dict]:
    rng, out = ctx.rng, []
    for i in range(n):
        slug, name, line, cat, model, price, weight, months = CATALOGUE[i % len(CATALOGUE)]
        gen = i // len(CATALOGUE)
        if gen:
            slug, model, name = f"{slug}-g{gen + 1}", f"{model}-G{gen + 1}", f"{name}(第 {gen + 1} 代)"
        new = gen > 0 and rng.random() < 0.5
        plan = {"emergency": True, "response_promise": "24 小时到场" if line == "machinery" else "4 小时响应",
                "preventive": True,
                "inspection_months": months}
        if new:  # inspected more often while new (source 004)
            plan["new_product_months"] = sorted({1, 2, 3, 6, 9, 12} - set(months)) or [4]
        if line == "machinery":
            plan["value_added"] = ["operator_training"]
            plan["parts_priority"] = weight == "core"
        d = {"id": f"PD-{slug}", "schema_version": 1, "name": f"{BRAND[line]} {name}", "line": line,
             "category": cat, "model": model, "new_product": new, "strategic_weight": weight,
             "service_plan": plan}
        d["_price"], d["_brand"] = price, BRAND[line]
        ctx.products.setdefault(line, []).append(d)
        out.append(d)
    return out


def _block(c: dict, rng: random.Random) -> dict:
    return {"name": c["name"], "address": c["address"], "contact": dict(rng.choice(c["contacts"]))}


def _history(ctx: _Ctx, statuses: list[str], start: int, who: Callable[[str], str],
             gap: tuple[int, int], notes: dict[str, str] | None = None) -> tuple[list[dict], int]:
    rng, t, out = ctx.rng, start, []
    for i, st in enumerate(statuses):
        if i:
            t += rng.randint(*gap)
        h = {"at": ctx.instant(t), "by": who(st), "status": st}
        if notes and st in notes and rng.random() < 0.7:
            h["note"] = notes[st]
        out.append(h)
    return out, t


def _prefix(rng: random.Random, path: list[str], open_share: float) -> list[str]:
    """The whole path, or (for a share of cases still running) a prefix of it."""
    if len(path) > 1 and rng.random() < open_share:
        return path[:rng.randint(1, len(path) - 1)]
    return path


SOLUTION_PATHS = [
    (["draft", "in_review", "approved", "proposed", "won"], 5),
    (["draft", "in_review", "approved", "proposed", "negotiating", "won"], 4),
    (["draft", "in_review", "returned", "in_review", "approved", "proposed", "negotiating", "won"], 2),
    (["draft", "in_review", "approved", "proposed", "negotiating", "lost"], 2),
    (["draft", "lost"], 1),
]
COMPLAINT_PATHS = [
    (["open", "in_progress", "resolved", "closed"], 10),
    (["open", "in_progress", "waiting_parts", "in_progress", "resolved", "closed"], 3),
    (["open", "in_progress", "waiting_customer", "in_progress", "resolved", "closed"], 2),
    (["open", "in_progress", "resolved", "closed", "reopened", "in_progress", "resolved", "closed"], 1),
    (["open", "resolved", "closed"], 3),
]
REPAIR_PATHS = [
    (["open", "dispatched", "on_site", "fixed", "closed"], 10),
    (["open", "dispatched", "on_site", "waiting_parts", "on_site", "fixed", "closed"], 3),
    (["open", "dispatched", "on_site", "not_fixed", "on_site", "fixed", "closed"], 1),
    (["open", "fixed", "closed"], 1),
]
CALLBACK_PATHS = [(["done"], 4), (["scheduled", "done"], 5),
                  (["scheduled", "unreachable", "scheduled", "done"], 1), (["scheduled", "unreachable", "done"], 1)]


def _pick(rng: random.Random, paths: list[tuple[list[str], int]]) -> list[str]:
    return rng.choices([p for p, _ in paths], [w for _, w in paths])[0]


class _Writer:
    """Collects records and writes each straight to its file."""

    def __init__(self, root: Path, limit: int):
        self.root, self.limit, self.count = root / RECORDS_DIR, limit, 0
        self.made: set[Path] = set()
        self.kinds: dict[str, int] = {}
        self.statuses: set[tuple[str, str]] = set()  # (kind, status) of the records written

    def has(self, kind: str, status: str) -> bool:
        return (kind, status) in self.statuses

    @property
    def full(self) -> bool:
        return self.count >= self.limit

    def put(self, kind: str, data: dict) -> bool:
        if self.count >= self.limit:
            return False
        rid = data["id"]
        folder = self.root / kind
        if KINDS[kind].case:
            folder = folder / rid.split("-")[1][:4]
        if folder not in self.made:
            folder.mkdir(parents=True, exist_ok=True)
            self.made.add(folder)
        clean = {k: v for k, v in data.items() if not k.startswith("_")}
        fd = os.open(os.path.join(folder, rid + ".yaml"), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        try:
            os.write(fd, dump(clean, kind).encode("utf-8"))
        finally:
            os.close(fd)
        self.count += 1
        self.kinds[kind] = self.kinds.get(kind, 0) + 1
        self.statuses.add((kind, data.get("status")))
        return True


# ------------------------------------------------------------------------------------- chains


def _deal(ctx: _Ctx, w: _Writer, start: int, open_share: float) -> None:
    rng = ctx.rng
    cust = rng.choice(ctx.customers)
    line = cust["_line"]
    sp, mgr, eng = ctx.who("salesperson"), ctx.who("sales_manager"), ctx.who("technical_engineer")
    gm, adm, dlv = ctx.who("general_manager"), ctx.who("administration"), ctx.who("delivery_specialist")
    block = _block(cust, rng)
    cid = cust["id"]
    products = rng.sample(ctx.products[line], k=min(len(ctx.products[line]), rng.randint(1, 3)))
    items = [(p, rng.randint(1, 40) if line == "telecom" else rng.randint(1, 3)) for p in products]
    total = sum(p["_price"] * q for p, q in items)
    equipment = [{"brand": p["_brand"], "model": p["model"], "quantity": q,
                  "unit_price": {"amount": p["_price"], "currency": "CNY"}} for p, q in items]
    req = "、".join(rng.sample(REQUIREMENTS[line], 2))

    # survey
    path = rng.choices([["open", "handed_over"], ["open", "dropped"]], [12, 1])[0]
    path = _prefix(rng, path, open_share)
    sid = ctx.new_id("survey", start)
    hist, t = _history(ctx, path, start, lambda s: sp, (60, 200), {"open": "首次拜访后建档",
                                                                     "handed_over": "移交技术部",
                                                                     "dropped": "客户暂无预算"})
    sv = {"id": sid, "schema_version": 1, "customer": cid, "filled_by": sp, "created_at": ctx.instant(start),
          "status": path[-1], "history": hist, "survey_date": ctx.instant(start)[:10],
          "customer_block": block}
    if line == "telecom":
        sv["broadband"] = {"available": True, "type": rng.choice(("光纤专线", "光纤宽带", "ADSL")),
                           "bandwidth_mbps": rng.choice((50, 100, 200, 500, 1000)),
                           "usage": "办公与业务系统", "utilisation_pct": rng.randint(20, 95)}
        sv["pbx"] = {"has_pbx": True, "brand_model": "模拟程控交换机", "direct_lines": rng.randint(2, 40),
                     "trunk_lines": rng.randint(4, 60), "extensions": rng.randint(20, 600)}
        sv["long_distance"] = {"saving_method": rng.choice(("prepaid", "postpaid", "dial_box", "ip_card")),
                               "discount_pct": rng.randint(0, 30),
                               "monthly_spend": {"amount": rng.randrange(1000, 50000, 100), "currency": "CNY"},
                               "accepts_split_dial": rng.random() < 0.7}
    sv["requirements"] = req
    sv["qualification"] = {"worth_developing": path[-1] != "dropped", "customer_type": cust["industry"],
                           "template_solution": f"TPL-{'TEL' if line == 'telecom' else 'MCH'}-0{rng.randint(1, 7)}"}
    sv["salesperson"] = sp
    if not w.put("survey", sv) or path[-1] != "handed_over":
        return
    if rng.random() < 0.3 or not w.kinds.get("communication"):
        kind, subject, summary = rng.choice(BRIEFINGS)
        _communication(ctx, w, t + rng.randint(30, 300), kind, subject, f"{summary}。", cust=cust, survey=sid, by=sp)

    # appraisal
    t += rng.randint(10, 60)
    aid = ctx.new_id("appraisal", t)
    path = _prefix(rng, ["in_progress", "done"], open_share)
    hist, t = _history(ctx, path, t, lambda s: eng, (60, 220), {"done": "鉴定完成,回执交业务员"})
    ap = {"id": aid, "schema_version": 1, "customer": cid, "filled_by": eng, "created_at": hist[0]["at"],
          "status": path[-1], "history": hist, "survey": sid, "customer_block": block,
          "implementation_details": f"{'、'.join(p['name'] for p, _ in items)}满足需求;{req}。"
                                    f"施工周期约 {rng.randint(3, 30)} 天,需客户配合提供场地与电源。",
          "equipment": equipment, "estimated_duration_days": rng.randint(3, 30)}
    if path[-1] == "done":
        ap["appraiser"] = {"by": eng, "at": hist[-1]["at"]}
    if not w.put("appraisal", ap) or path[-1] != "done":
        return

    # solution: drafted and approved by the sales manager; the proposal goes out (and the deal is
    # negotiated and won) only once the GM has approved the feasibility appraisal
    t += rng.randint(20, 180)
    oid = ctx.new_id("solution", t)
    path = _prefix(rng, _pick(rng, SOLUTION_PATHS), open_share)
    cut = path.index("approved") + 1 if "approved" in path else len(path)
    path, rest = path[:cut], path[cut:]
    role = {"approved": mgr, "returned": mgr}
    notes = {"returned": "投资回报测算不完整", "approved": "同意", "lost": rng.choice(LOST)}
    hist, t = _history(ctx, path, t, lambda s: role.get(s, sp), (60, 600), notes)
    monthly = rng.randrange(0, 200000, 100)

    fs = fpath = fh = None
    if "approved" in path:
        t_fs = t + rng.randint(30, 240)
        fid = ctx.new_id("feasibility", t_fs)
        fpath = rng.choices([["draft", "submitted", "approved"], ["draft", "submitted", "rejected"],
                             ["draft", "submitted", "draft", "submitted", "approved"]], [10, 1, 1])[0]
        fpath = _prefix(rng, fpath, open_share)
        fh, t_fs = _history(ctx, fpath, t_fs, lambda s: gm if s in ("approved", "rejected") else mgr, (60, 500),
                            {"submitted": "随全部资料呈总经理", "draft": "总经理要求补充资料", "rejected": "回收期过长"})
        fs = {"id": fid, "schema_version": 1, "customer": cid, "filled_by": mgr, "created_at": fh[0]["at"],
              "status": fpath[-1], "history": fh, "solution": oid, "customer_block": block,
              "operating_model": rng.choice(("设备买断 + 服务费", "分期销售", "经营租赁", "整机销售")),
              "equipment_investment": {"amount": total, "currency": "CNY"},
              "avg_monthly_gross_profit": {"amount": monthly - monthly // 4, "currency": "CNY"},
              "max_profit_fluctuation_pct": rng.randint(5, 40),
              "payback_months": round(total / (monthly - monthly // 4), 1) if monthly - monthly // 4 > 0 else 0}
        if len(fpath) > 1:
            fs["appraiser"] = {"by": mgr, "at": fh[1]["at"]}
        if fpath[-1] == "rejected":
            rest = ["lost"]  # the GM said no: the deal is lost
            notes["lost"] = LOST[2]
        elif fpath[-1] != "approved" or w.limit - w.count < 2:
            rest = []  # still waiting for the GM (or no room left for the feasibility record)
        if rest:
            more, t = _history(ctx, rest, t_fs + rng.randint(60, 600), lambda s: role.get(s, sp), (60, 600), notes)
            hist += more
            path += rest
    so = {"id": oid, "schema_version": 1, "customer": cid, "filled_by": sp, "created_at": hist[0]["at"],
          "status": path[-1], "history": hist, "survey": sid, "appraisal": aid,
          "customer_type": cust["industry"], "template": sv["qualification"]["template_solution"],
          "summary": f"{req};设备投资 {total} 元,预计月收入 {monthly} 元。",
          "revenue": {"equipment_investment": {"amount": total, "currency": "CNY"},
                      "monthly_revenue": {"amount": monthly, "currency": "CNY"},
                      "monthly_operating_cost": {"amount": monthly // 4, "currency": "CNY"}}}
    if "approved" in path:
        so["review"] = {"comments": rng.choice(("同意,按模板报价。", "让利不超过 5%。", "注意回款风险。"))}
    if "proposed" in path:
        so["proposal_delivered_on"] = hist[path.index("proposed")]["at"][:10]
    if "negotiating" in path:
        at = hist[path.index("negotiating")]["at"]
        kinds = rng.sample(list(ROUND), rng.randint(1, 2))
        so["negotiation_rounds"] = [{"at": at, "kind": k, "summary": rng.choice(ROUND[k]),
                                     "manager_informed": True} for k in kinds]
    if path[-1] == "lost":
        so["lost_reason"] = hist[-1].get("note") or rng.choice(LOST)
    if not w.put("solution", so) or fs is None or not w.put("feasibility", fs):
        return
    if "proposed" in path and (rng.random() < 0.35 or not w.kinds.get("bid")):
        _bid(ctx, w, cust, sid, so, path, sp, mgr, eng, open_share)
    if fpath[-1] != "approved" or path[-1] != "won":
        return

    # contract after the deal is won and the feasibility approved
    t = max(t, ctx_minute(fh[-1]["at"], ctx)) + rng.randint(30, 300)
    ctid = ctx.new_id("contract", t)
    # a contract is fulfilled (completed) once delivered; the ones still in force are the share
    # `_prefix` leaves running, so old contracts are mostly completed, as in a real archive
    cpath = rng.choices([["draft", "pending_approval", "approved", "signed", "completed"],
                         ["draft", "pending_approval", "cancelled"],
                         ["draft", "pending_approval", "draft", "pending_approval", "approved", "signed", "completed"]],
                        [10, 1, 1])[0]
    cpath = _prefix(rng, cpath, open_share)
    ch, _ = _history(ctx, cpath, t, lambda s: gm if s == "approved" else (dlv if s == "completed" else mgr),
                     (60, 900), {"pending_approval": "呈总经理审批", "signed": "双方盖章"})
    payment = "one_off" if cust["service_tier"] == "vip" else rng.choice(("instalment", "lease"))
    ct = {"id": ctid, "schema_version": 1, "customer": cid, "filled_by": mgr, "created_at": ch[0]["at"],
          "status": cpath[-1], "history": ch, "feasibility": fid, "solution": oid,
          "parties": {"company": COMPANY, "customer_party": cust["name"]},
          "amount": {"amount": total, "currency": "CNY"}, "payment_model": payment,
          "service_tier": "vip" if payment == "one_off" else "standard",
          "equipment": [{"brand": p["_brand"], "model": p["model"], "quantity": q, "product": p["id"]}
                        for p, q in items],
          "warranty_months": rng.choice((12, 18, 24)),
          "terms": "一次性付款,VIP 7x24 服务。" if payment == "one_off" else "分期/租赁,标准 5x8 服务。"}
    if "signed" in cpath:
        ct["signing_date"] = ch[cpath.index("signed")]["at"][:10]
        ct["delivery_team"] = {"owner": dlv, "members": [{"person": eng, "role": "technical"}]}
    if not w.put("contract", ct) or "signed" not in cpath:
        return
    devices = []
    for p, q in items:
        for k in range(min(q, 3)):
            devices.append({"brand": p["_brand"], "model": p["model"],
                            "serial": f"{p['model']}-{ctid[3:11]}-{len(devices) + 1:03d}",
                            "config_doc_number": f"CFG-{ctid[12:]}-{len(devices) + 1:02d}",
                            "product": p["id"], "location": f"{cust['short_name']}现场"})
    ctx.contracts.setdefault(cid, []).append((ctid, ctx_minute(ch[0]["at"], ctx), ct["service_tier"], devices))
    _delivery(ctx, w, cust, ct, ctx_minute(ch[cpath.index("signed")]["at"], ctx), dlv, eng, open_share)

    # installation
    t = ctx_minute(ch[cpath.index("signed")]["at"], ctx) + rng.randint(60, 2000)
    iid = ctx.new_id("installation", t)
    ipath = rng.choices([["ordered", "installed", "handed_over"], ["ordered", "cancelled"]], [12, 1])[0]
    ipath = _prefix(rng, ipath, open_share)
    ih, _ = _history(ctx, ipath, t, lambda s: {"installed": eng, "handed_over": dlv}.get(s, adm),
                     (600, 6000), {"ordered": "合同已归档,下达装机单"})
    ins = {"id": iid, "schema_version": 1, "customer": cid, "filled_by": adm, "created_at": ih[0]["at"],
           "status": ipath[-1], "history": ih, "contract": ctid, "customer_block": block,
           "order_issued_by": adm, "devices": devices,
           "special_circumstances": rng.choice(("夜间施工需提前报备", "场地狭小需吊车配合", "客户操作手首次使用本型号",
                                                "机房无空调,建议加装排风"))}
    if "installed" in ipath:
        ins["installer"] = {"by": eng, "at": ih[1]["at"]}
        ins["installed_on"] = ih[1]["at"][:10]
    if "handed_over" in ipath:
        ins["handed_over_on"] = ih[2]["at"][:10]
    if w.put("installation", ins) and "handed_over" in ipath:
        _inspections(ctx, w, cust, iid, ih[2]["at"], items, devices, eng)


def ctx_minute(instant: str, ctx: _Ctx) -> int:
    """Minutes since the first day of the corpus, from an instant this module wrote."""
    day = ctx.day_index[instant[:10]]
    return day * 1440 + int(instant[11:13]) * 60 + int(instant[14:16])


def _service(ctx: _Ctx, w: _Writer, start: int, open_share: float) -> None:
    rng = ctx.rng
    cust = rng.choice(ctx.customers)
    cid = cust["id"]
    cs, csm, eng = ctx.who("customer_service"), ctx.who("cs_manager"), ctx.who("technical_engineer")
    tm = ctx.who("technical_manager") if rng.random() < 0.5 else ctx.who("station_head")
    contract = None
    options = [c for c in ctx.contracts.get(cid, ()) if c[1] < start]
    if options and rng.random() < 0.8:
        contract = rng.choice(options)
        dev = rng.choice(contract[3])
        product = dev["product"]
        category = next(p["category"] for p in ctx.products[cust["_line"]] if p["id"] == product) \
            if product else "other"
        device = {"brand": dev["brand"], "model": dev["model"], "serial": dev["serial"]}
    else:
        p = rng.choice(ctx.products[cust["_line"]])
        product, category = p["id"], p["category"]
        device = {"brand": p["_brand"], "model": p["model"], "serial": f"{p['model']}-{rng.randrange(10**6):06d}"}
    problem, cause, steps, fcat, code, diag, root, part, tq = rng.choice(FAULTS[category])
    contact = dict(rng.choice(cust["contacts"]))
    block = {"name": cust["name"], "address": cust["address"], "contact": contact}
    text = f"{rng.choice(CONTEXT)}{rng.choice(WHEN)}{problem},{rng.choice(IMPACT)}。"

    # complaint
    path = _prefix(rng, _pick(rng, COMPLAINT_PATHS), open_share)
    enquiry = path[:2] == ["open", "resolved"]
    roles = {"closed": csm, "reopened": cs, "open": cs}
    hist, t = _history(ctx, path, start, lambda s: roles.get(s, cs if enquiry else eng), (20, 400),
                       {"open": "受理来电", "in_progress": "工程师开始处理", "waiting_parts": "等待配件调拨",
                        "waiting_customer": "等待客户停机配合", "resolved": "处理完毕", "closed": "回访满意,结案",
                        "reopened": "同一问题再次出现"})
    cpid = ctx.new_id("complaint", start)
    issue: dict[str, Any] = {"problem": text}
    if len(path) > 1:
        issue["cause"] = cause
        issue["resolution_steps"] = steps
    if "resolved" in path:
        issue["customer_satisfied"] = path[-1] != "reopened"
    issue["technical_quality"] = tq and not enquiry
    cp = {"id": cpid, "schema_version": 1, "customer": cid, "filled_by": cs, "created_at": hist[0]["at"],
          "status": path[-1], "history": hist, "received_at": hist[0]["at"],
          "channel": rng.choice(("phone", "phone", "phone", "wechat", "email")),
          "kind": "enquiry" if enquiry else "quality_complaint", "customer_block": block, "caller": contact}
    if contract:
        cp["contract"] = contract[0]
    cp.update({"product": product, "device": device, "assigned_to": eng, "issues": [issue],
               "cs_part": {"remarks": "客户情绪平稳,已告知处理时限。", "signer": {"by": cs, "at": hist[0]["at"]}}})
    if "resolved" in path and not enquiry:
        at = hist[path.index("resolved")]["at"]
        cp["technical_part"] = {"remarks": f"根本原因:{root}。", "signer": {"by": eng, "at": at}}
    if not w.put("complaint", cp):
        return
    case_for_callback = cpid
    fixed_at = hist[path.index("resolved")]["at"] if "resolved" in path else None

    # repair, for quality complaints that reached the technical department
    if not enquiry and "in_progress" in path and rng.random() < 0.85:
        rt = ctx_minute(hist[1]["at"], ctx) + rng.randint(0, 15)
        rpath = _pick(rng, REPAIR_PATHS)
        if "resolved" not in path:
            cut = rpath.index("fixed")
            rpath = rpath[:rng.randint(1, cut)]
        rroles = {"open": cs, "dispatched": tm, "closed": tm}
        rh, _ = _history(ctx, rpath, rt, lambda s: rroles.get(s, eng), (30, 400),
                         {"dispatched": "派工", "on_site": "到达现场", "waiting_parts": "待配件",
                          "fixed": "故障排除", "not_fixed": "未排除,需返厂检测"})
        rid = ctx.new_id("repair", rt)
        rp = {"id": rid, "schema_version": 1, "customer": cid, "filled_by": cs, "created_at": rh[0]["at"],
              "status": rpath[-1], "history": rh, "complaint": cpid}
        if contract:
            rp["contract"] = contract[0]
        rp.update({"product": product, "device": device, "customer_block": block,
                   "reported_at": hist[0]["at"], "phone_triage": f"电话询问后初判:{cause}。",
                   "fault_description": text, "customer_signature": {"name": contact["name"], "at": rh[0]["at"]},
                   "engineer": eng})
        if "on_site" in rpath:
            arrived = rh[rpath.index("on_site")]["at"]
            rp.update({"arrived_at": arrived, "operation_before_fault": f"{rng.choice(WHEN)}正常作业。",
                       "symptom": problem, "procedure_followed": f"按 {code} 对应的维修规程执行。",
                       "steps": [{"diagnosis": a, "action": b, "result": c} for a, b, c in diag],
                       "fault_category": fcat, "fault_code": code})
        if "fixed" in rpath:
            fat = rh[rpath.index("fixed")]["at"]
            rp["root_cause"] = root
            if part:
                pn, pname = part
                rp["parts_replaced"] = [{"part_number": pn,
                                         "old": {"brand": device["brand"], "model": pname,
                                                 "serial": f"{pn}-{rng.randrange(10**5):05d}"},
                                         "new": {"brand": device["brand"], "model": pname,
                                                 "serial": f"{pn}-{rng.randrange(10**5):05d}"},
                                         "borrowed": rng.random() < 0.2}]
            rp.update({"full_check_done": True, "fixed_at": fat, "outcome": "fixed",
                       "handling": {"summary": "；".join(steps) + "。", "handler": {"by": eng, "at": fat}},
                       "customer_rating": rng.randint(3, 5), "customer_opinion": rng.choice(OPINIONS),
                       "customer_opinion_signature": {"name": contact["name"], "at": fat}})
            fixed_at = fixed_at or fat
        elif rpath[-1] == "waiting_parts":
            rp["outcome"] = "diagnosed_waiting_parts"
        elif rpath[-1] == "not_fixed":
            rp["outcome"] = "not_fixed"
        if rpath[-1] == "closed":
            rp.update({"warranty_claim": tq, "old_parts_returned": bool(part), "customer_copy_mailed": True,
                       "customer_info": {"equipment_types": device["model"], "equipment_count": rng.randint(1, 30),
                                         "working_hours": rng.randint(50, 5000),
                                         "service_opinion": rng.choice(OPINIONS),
                                         "suggestions": "希望片区储备常用配件"}})
        if not w.put("repair", rp):
            return
        if part and "on_site" in rpath and (rng.random() < 0.6 or not w.kinds.get("part-request")):
            _part_request(ctx, w, rp, rpath, rh, ctx.parts[part[0]], eng, open_share)
        if rng.random() < 0.3:
            case_for_callback = rid

    # callback after the fix
    if fixed_at is None or enquiry and rng.random() < 0.5:
        return
    bt = ctx_minute(fixed_at, ctx) + rng.randint(5, 600)
    bpath = _prefix(rng, _pick(rng, CALLBACK_PATHS), open_share)
    bh, _ = _history(ctx, bpath, bt, lambda s: cs, (60, 900), {"unreachable": "电话无人接听"})
    cb = {"id": ctx.new_id("callback", bt), "schema_version": 1, "customer": cid, "filled_by": cs,
          "created_at": bh[0]["at"], "status": bpath[-1], "history": bh, "case": case_for_callback,
          "scheduled_for": bh[0]["at"]}
    if bpath[-1] == "done":
        cb["called_at"] = bh[-1]["at"]
    cb.update({"caller": cs, "channel": rng.choice(("phone", "phone", "wechat", "visit")), "contact": contact})
    if bpath[-1] == "done":
        cb.update({"solved": rng.random() < 0.93, "satisfaction": rng.randint(2, 5),
                   "opinion": rng.choice(OPINIONS)})
    w.put("callback", cb)


# ------------------------------------------------------------------------------------- parts, KB

KB_PATHS = [(["draft", "published"], 8), (["draft"], 1), (["draft", "published", "retired"], 1),
            (["draft", "published", "draft", "published"], 1)]
PART_REQUEST_PATHS = [(["requested", "approved", "issued", "returned"], 8), (["requested", "cancelled"], 1),
                      (["requested", "approved", "cancelled"], 1)]
WAREHOUSES = ["长沙总部中心库", "北京备件库", "上海备件库", "广州备件库", "成都备件库", "沈阳备件库"]


def _category_products(ctx: _Ctx, category: str) -> list[dict]:
    return [p for line in ctx.products.values() for p in line if p["category"] == category]


def _parts(ctx: _Ctx) -> list[dict]:
    """One part record for every part a fault scenario replaces, for the products it fits."""
    rng, out = ctx.rng, []
    for category, scenarios in FAULTS.items():
        products = _category_products(ctx, category)
        for *_, part, _quality in scenarios:
            if not part or part[0] in ctx.parts:
                continue
            number, name = part
            grade = rng.choice(("core", "core", "non_core", "emergency"))
            planned = rng.randint(1, 12)
            d = {"id": "PT-" + re.sub(r"[^a-z0-9]+", "-", number.lower()).strip("-"), "schema_version": 1,
                 "part_number": number, "name": name, "brand": products[0]["_brand"],
                 "products": [p["id"] for p in products], "grade": grade,
                 "lead_time_days": rng.choice((3, 7, 15, 30, 45)),
                 "unit_value": {"amount": rng.randrange(200, 20000, 100), "currency": "CNY"},
                 "use_per_machine": rng.choice((1, 1, 2)), "planned_stock": planned,
                 "actual_stock": max(0, planned + rng.randint(-3, 2)),
                 "stock_counted_on": ctx.last_day.isoformat(),
                 "warehouse_location": f"{rng.choice(WAREHOUSES)} {rng.choice('ABCT')}-0{rng.randint(1, 9)}",
                 "planned_by": "region" if grade == "emergency" else "head_office"}
            if grade == "emergency":
                d["region"] = rng.choice(REGIONS)[0]
            ctx.parts[number] = d["id"]
            out.append(d)
    return out


def _kb(ctx: _Ctx, count: int) -> list[dict]:
    """Knowledge-base entries written from the fault scenarios, early in the corpus's time."""
    rng, out = ctx.rng, []
    scenarios = [(category, s) for category, ss in FAULTS.items() for s in ss]
    for category, (problem, cause, steps, fcat, code, diag, root, part, _q) in scenarios[:count]:
        products = _category_products(ctx, category)
        eng, tm = ctx.who("technical_engineer"), ctx.who("technical_manager")
        start = rng.randint(0, max(1, ctx.end // 1440 // 4)) * 1440 + rng.randint(9 * 60, 16 * 60)
        # the first entries take each path in turn, so even a small corpus has every status
        path = KB_PATHS[len(out)][0] if len(out) < len(KB_PATHS) else _pick(rng, KB_PATHS)
        hist, _ = _history(ctx, path, start, lambda s: tm if s in ("published", "retired") else eng, (60, 3000),
                           {"draft": "根据维修记录整理", "published": "审核通过,纳入内部学习资料",
                            "retired": "产品已换代,条目停用"})
        causes = [{"cause": f"{cause}。", "type": "damaged_part_replace" if part else "operator_error_repair"}]
        if part:
            causes[0]["part_numbers"] = [part[0]]
        d = {"id": ctx.new_id("kb", start), "schema_version": 1, "title": f"{products[0]['model']} {problem}",
             "product": products[0]["id"]}
        if len(products) > 1:
            d["also_applies_to"] = [p["id"] for p in products[1:]]
        d.update({"fault_category": fcat, "symptom": f"{problem}。", "fault_codes": [code],
                  "possible_causes": causes, "diagnosis_order": [a for a, _, _ in diag],
                  "procedure": [{"diagnosis": a, "action": b, "result": c} for a, b, c in diag],
                  "precautions": f"根本原因多为{root},处理后按规程全面检查。",
                  "keywords": [code, fcat], "filled_by": eng, "created_at": hist[0]["at"],
                  "status": path[-1], "history": hist})
        out.append(d)
    return out


def _inspections(ctx: _Ctx, w: _Writer, cust: dict, iid: str, handed_at: str, items: list,
                 devices: list[dict], eng: str) -> None:
    """The routine inspections of a handed-over installation at its products' months (the
    schedule ``derive.schedules`` measures): most done on time, some late, missed or never
    recorded; the next one planned when it is close."""
    rng, last = ctx.rng, ctx.last_day
    handed = parse_date(handed_at[:10])
    months = due_months([with_new_product_months(p, ()) for p, _ in items], ())
    product, device = items[0][0], devices[0]
    contact = rng.choice(cust["contacts"])["name"]
    for month in months:
        due = add_months(handed, month)
        if due > last + timedelta(days=20):
            return
        r = rng.random()
        if due > last or r < 0.04:
            path, visit = ["planned"], None
        elif r < 0.1 or not w.has("inspection", "missed") and due + timedelta(days=2) <= last:
            path, visit = ["planned", "missed"], due + timedelta(days=2)
        elif r < 0.22:
            path, visit = ["planned", "done"], due + timedelta(days=rng.randint(1, 8))
        else:
            path, visit = ["planned", "done"], max(handed + timedelta(days=1), due - timedelta(days=rng.randint(0, 10)))
        if visit is not None and visit > last:
            path, visit = ["planned"], None
        created = max(handed + timedelta(days=1), (visit or due) - timedelta(days=rng.randint(3, 14)))
        if visit is not None:
            created = min(created, visit)
        elif not w.kinds.get("inspection"):
            created = handed + timedelta(days=1)  # planned at hand-over: a small corpus has one too
        if created > last:
            continue
        start = ctx.day_minute(created)
        hist = [{"at": ctx.instant(start), "by": eng, "status": "planned", "note": "例行检查计划"}]
        if visit is not None:
            hist.append({"at": ctx.instant(ctx.day_minute(visit, 16)), "by": eng, "status": path[-1],
                         "note": "检查完成,用户签字" if path[-1] == "done" else "客户停工,未能检查"})
        d = {"id": ctx.new_id("inspection", start), "schema_version": 1, "customer": cust["id"],
             "filled_by": eng, "created_at": hist[0]["at"], "status": path[-1], "history": hist,
             "installation": iid, "product": product["id"],
             "device": {"brand": device["brand"], "model": device["model"], "serial": device["serial"]},
             "schedule_month": month, "due_on": due.isoformat(), "engineer": eng, "station": cust["region"]}
        if path[-1] == "done":
            ok = rng.random() < 0.8
            finding = {"item": "整机运行检查", "category": rng.choice(("electrical", "mechanical", "hydraulic", "other")),
                       "ok": ok}
            if not ok:
                finding.update({"observation": "易损件磨损接近限值", "action": "已告知客户,建议下次保养更换"})
            d.update({"done_on": visit.isoformat(), "working_hours": rng.randint(100, 6000), "findings": [finding],
                      "operator_training_given": rng.random() < 0.5, "customer_opinion": rng.choice(OPINIONS),
                      "satisfaction": rng.randint(3, 5),
                      "customer_signature": {"name": contact, "at": hist[-1]["at"]}})
        w.put("inspection", d)


def _part_request(ctx: _Ctx, w: _Writer, rp: dict, rpath: list[str], rh: list[dict], part_id: str,
                  eng: str, open_share: float) -> None:
    """A part drawn for a repair once the engineer has diagnosed it on site."""
    rng = ctx.rng
    pp = ctx.who("parts_planner")
    t = ctx_minute(rh[rpath.index("on_site")]["at"], ctx) + rng.randint(10, 120)
    if t > ctx.end:
        return
    path = _pick(rng, PART_REQUEST_PATHS)
    if "fixed" not in rpath and path[-1] == "returned":
        path = path[:-1]  # the repair is still running: the old part is not back yet
    path = _prefix(rng, path, open_share)
    hist, _ = _history(ctx, path, t, lambda s: pp if s in ("approved", "issued") else eng, (30, 900),
                       {"requested": "现场确认需更换", "issued": "备件出库", "returned": "旧件交回",
                        "cancelled": "客户自购配件"})
    replaced = rp.get("parts_replaced") or [{}]
    d = {"id": ctx.new_id("part-request", t), "schema_version": 1, "customer": rp["customer"], "filled_by": eng,
         "created_at": hist[0]["at"], "status": path[-1], "history": hist, "repair": rp["id"], "part": part_id,
         "quantity": 1, "reason": rp.get("symptom") or rp["fault_description"], "urgent": rng.random() < 0.3,
         "borrowed": bool(replaced[0].get("borrowed"))}
    if "issued" in path:
        d["issued"] = {"by": pp, "at": hist[path.index("issued")]["at"], "quantity": 1,
                       "from_location": rng.choice(WAREHOUSES)}
    if "returned" in path:
        d["returned"] = {"by": eng, "at": hist[-1]["at"],
                         "old_serial": replaced[0].get("old", {}).get("serial", "unknown"),
                         "condition": "故障件,待返厂分析", "loan_settled": True}
    w.put("part-request", d)


# ------------------------------------------------------------------------------------- bids

BID_PATHS = [(["preparing", "reviewed", "submitted", "won"], 6), (["preparing", "reviewed", "submitted", "lost"], 3),
             (["preparing", "reviewed", "preparing", "reviewed", "submitted", "won"], 1),
             (["preparing", "withdrawn"], 1), (["preparing", "reviewed", "withdrawn"], 1)]
BID_TASKS = ["招标文件逐条解读、澄清答疑", "技术方案编制", "厂家授权函及售后承诺函", "商务标编制与报价复核", "装订、密封、递交"]
CHECKLIST = ["requirement_analysis", "technical_solution", "solution_review", "bid_document", "binding",
             "sealing", "submission"]
BRIEFINGS = [("technical_briefing", "技术交流会", "向客户介绍方案架构与实施周期"),
             ("requirement_confirmation", "需求确认函", "客户书面确认本期需求范围"),
             ("nda", "保密协议", "双方签署保密协议后交换图纸与网络资料")]


def _communication(ctx: _Ctx, w: _Writer, t: int, kind: str, subject: str, summary: str, *, cust: dict,
                   survey: str, by: str, bid: str | None = None) -> bool:
    if t > ctx.end:
        return False
    rng = ctx.rng
    other = ({"side": "vendor", "organisation": f"{BRAND[cust['_line']]}机械有限公司"
              if cust["_line"] == "machinery" else f"{BRAND['telecom']}设备有限公司", "name": "钟晓峰",
              "position": "渠道经理"} if kind == "vendor_authorisation" else
             {"side": "customer", "organisation": cust["name"], "name": rng.choice(cust["contacts"])["name"]})
    d = {"id": ctx.new_id("communication", t), "schema_version": 1, "customer": cust["id"], "filled_by": by,
         "created_at": ctx.instant(t), "deal": survey, "kind": kind, "date": ctx.instant(t)[:10],
         "channel": rng.choice(("meeting", "email", "letter", "phone")), "subject": subject,
         "parties": [{"side": "ours", "person": by}, other], "summary": summary}
    if bid:
        d["bid"] = bid
    d["confidential"] = kind == "nda"
    return w.put("communication", d)


def _bid(ctx: _Ctx, w: _Writer, cust: dict, sid: str, so: dict, sol_path: list[str], sp: str, mgr: str,
         eng: str, open_share: float) -> None:
    """A tender answered for a proposed solution: tasks to named people, the zero-defect
    checklist and the quotation and vendor authorisation on record before it goes out."""
    rng = ctx.rng
    t = ctx_minute(so["history"][sol_path.index("proposed")]["at"], ctx) + rng.randint(30, 600)
    if t > ctx.end:
        return
    path = _pick(rng, BID_PATHS)
    if path[-1] in ("won", "lost") and sol_path[-1] in ("won", "lost"):
        path = path[:-1] + [sol_path[-1]]
    path = _prefix(rng, path, open_share)
    hist, _ = _history(ctx, path, t, lambda s: mgr if s == "reviewed" else sp, (300, 2400),
                       {"preparing": "收到邀标文件,编制任务分解表", "reviewed": "方案论证通过,同意投标",
                        "submitted": "密封标书现场递交", "withdrawn": "资格条件不符,放弃投标"})
    bid_id = ctx.new_id("bid", t)
    submitted = ctx_minute(hist[path.index("submitted")]["at"], ctx) if "submitted" in path else None
    if submitted is not None and submitted > ctx.end:
        return
    # the price and the vendor's authorisation are written down before the bid goes out
    for k, (kind, subject) in enumerate((("quotation", "投标报价确认"), ("vendor_authorisation", "厂家项目授权函"))):
        if not _communication(ctx, w, t + 10 + k * 50, kind, subject, f"{cust['name']}项目{subject}。",
                              cust=cust, survey=sid, by=sp, bid=bid_id):
            return
    end = submitted if submitted is not None else t + 4 * 1440
    tasks = []
    for k, task in enumerate(BID_TASKS):
        due = t + (end - t) * (k + 1) // len(BID_TASKS)
        item = {"task": task, "owner": rng.choice((sp, eng, mgr)), "due": ctx.instant(due)}
        if submitted is not None:
            item["done_at"] = ctx.instant(max(t, due - rng.randint(0, 60)))
        tasks.append(item)
    d = {"id": bid_id, "schema_version": 1, "customer": cust["id"], "filled_by": sp, "created_at": hist[0]["at"],
         "status": path[-1], "history": hist, "survey": sid, "solution": so["id"],
         "project_name": f"{cust['short_name']}设备采购项目", "tender_no": f"ZB-{bid_id[3:11]}-{rng.randint(1, 99):02d}",
         "buyer": cust["name"], "deadline": ctx.instant(end + rng.randint(10, 240)),
         "bid_price": so["revenue"]["equipment_investment"], "tasks": tasks}
    if submitted is not None:
        d["checklist"] = []
        for k, item in enumerate(CHECKLIST):
            ok = rng.random() < 0.9
            entry = {"item": item, "checked_by": mgr if k % 2 else eng,
                     "checked_at": ctx.instant(t + (submitted - t) * (k + 1) // (len(CHECKLIST) + 1)), "ok": ok}
            if not ok:
                entry["defects"] = "目录页码与正文不符;已重排并复核"
            d["checklist"].append(entry)
        d["submitted_at"] = ctx.instant(submitted)
    if path[-1] in ("won", "lost"):
        d["result_note"] = "综合评分第一,中标。" if path[-1] == "won" else "价格分落后,未中标。"
    w.put("bid", d)


# ------------------------------------------------------------------------------------- delivery

RISK_PATHS = [(["open", "mitigating", "closed"], 5), (["open", "closed"], 2), (["open", "mitigating", "open", "mitigating", "closed"], 1)]
PROBLEM_PATHS = [(["open", "answered", "resolved"], 6), (["open", "resolved"], 2),
                 (["open", "answered", "waiting_customer", "answered", "resolved"], 2)]
CHANGE_PATHS = [(["requested", "assessed", "accepted"], 5), (["requested", "assessed", "rejected"], 2),
                (["requested", "rejected"], 1)]


def _delivery(ctx: _Ctx, w: _Writer, cust: dict, ct: dict, signed: int, dlv: str, eng: str,
              open_share: float) -> None:
    """The 1+N delivery records of a signed contract: the requirements confirmation (due within
    72 hours of signing), a kickoff and weekly progress reports, and now and then a risk, a
    problem raised by the customer or a change request."""
    rng, cid, ctid = ctx.rng, cust["id"], ct["id"]
    contact = rng.choice(cust["contacts"])["name"]
    base = {"schema_version": 1, "customer": cid, "filled_by": dlv}

    t = signed + rng.randint(60, 1440)
    if t > ctx.end:
        return
    path = _prefix(rng, ["draft", "confirmed"], open_share)
    hist, done = _history(ctx, path, t, lambda s: dlv, (300, 4000), {"draft": "1+N 启动会后建档",
                                                                      "confirmed": "双方签字"})
    rq = {"id": ctx.new_id("requirements", t), **base, "created_at": hist[0]["at"], "status": path[-1],
          "history": hist, "contract": ctid, "owner": dlv,
          "review_meeting": {"at": hist[0]["at"], "place": f"{cust['short_name']}会议室",
                             "our_attendees": [dlv, eng], "customer_attendees": [contact]},
          "items": [{"ref": str(k + 1), "requirement": req, "expectation": "按合同约定交付并验收",
                     "scenario": "日常业务使用", "priority": rng.choice(("must", "should", "could")),
                     "negotiable": rng.random() < 0.3}
                    for k, req in enumerate(rng.sample(REQUIREMENTS[cust["_line"]], 2))],
          "out_of_scope": ["土建及基础施工(客户负责)"]}
    if path[-1] == "confirmed":
        rq["signatures"] = {"ours": {"by": dlv, "at": hist[-1]["at"]}, "customer": {"name": contact, "at": hist[-1]["at"]}}
    if not w.put("requirements", rq):
        return

    # progress: the kickoff, then weekly reports
    t = signed + rng.randint(1440, 3 * 1440)
    weeks = rng.randint(0, 4)
    for k in range(weeks + 1):
        at = t + k * 7 * 1440
        if at > ctx.end:
            break
        day = ctx.instant(at)[:10]
        pg = {"id": ctx.new_id("progress", at), **base, "created_at": ctx.instant(at), "contract": ctid,
              "type": "kickoff" if k == 0 else "weekly", "date": day}
        if k:
            pg["period_from"] = ctx.instant(at - 4 * 1440)[:10]
        pg.update({"percent_complete": min(100, k * 100 // max(1, weeks)),
                   "progress": "启动会召开,交付计划已确认。" if k == 0 else f"第 {k} 周:设备到货与安装按计划推进。",
                   "next_week_plan": "按计划进场安装调试。", "sent_to_customer_at": ctx.instant(at + 10)})
        if not w.put("progress", pg):
            return

    # (the first contracts get each kind, so a small corpus has every kind)
    if rng.random() < 0.3 or not w.kinds.get("risk"):
        t = signed + rng.randint(2 * 1440, 10 * 1440)
        path = _prefix(rng, _pick(rng, RISK_PATHS), open_share)
        hist, _ = _history(ctx, path, t, lambda s: dlv, (600, 6000), {"mitigating": "已与厂家协调"})
        if t <= ctx.end:
            rk = {"id": ctx.new_id("risk", t), **base, "created_at": hist[0]["at"], "status": path[-1],
                  "history": hist, "contract": ctid, "risk": "设备到货可能延迟,影响进场计划。",
                  "category": rng.choice(("supply", "staffing", "technical", "customer", "schedule", "external")),
                  "likelihood": rng.choice(("low", "medium", "high")), "impact": rng.choice(("low", "medium", "high")),
                  "raised_on": hist[0]["at"][:10], "owner": dlv, "action": "向厂家催货并准备替代设备。",
                  "action_due": ctx.instant(t + 7 * 1440)[:10]}
            if path[-1] == "closed":
                rk["outcome"] = "设备按期到货,风险解除。"
            w.put("risk", rk)

    if rng.random() < 0.3 or not w.kinds.get("problem"):
        t = signed + rng.randint(3 * 1440, 20 * 1440)
        path = _prefix(rng, _pick(rng, PROBLEM_PATHS), open_share)
        hist, _ = _history(ctx, path, t, lambda s: eng if s == "answered" else dlv, (30, 1200),
                           {"answered": "已电话答复并安排处理", "waiting_customer": "等待客户提供场地"})
        if t <= ctx.end:
            pb = {"id": ctx.new_id("problem", t), **base, "created_at": hist[0]["at"], "status": path[-1],
                  "history": hist, "contract": ctid, "level": rng.choices(("minor", "major", "critical"), (6, 3, 1))[0],
                  "title": "客户要求补充资质文件", "description": "监理要求验收前查验资质证书原件。",
                  "raised_at": hist[0]["at"], "reported_by": {"side": "customer", "name": contact}, "owner": eng}
            if "answered" in path:
                pb.update({"answered_at": hist[path.index("answered")]["at"], "answer": "已安排专人送达原件。"})
            if path[-1] == "resolved":
                pb.update({"resolved_at": hist[-1]["at"], "resolution": "原件已查验,问题关闭。"})
            w.put("problem", pb)

    if rng.random() < 0.25 or not w.kinds.get("change"):
        t = signed + rng.randint(3 * 1440, 15 * 1440)
        path = _prefix(rng, _pick(rng, CHANGE_PATHS), open_share)
        hist, _ = _history(ctx, path, t, lambda s: dlv, (600, 4000), {"requested": "客户申请推迟进场"})
        if t <= ctx.end:
            current = ctx.instant(t + 10 * 1440)[:10]
            ch = {"id": ctx.new_id("change", t), **base, "created_at": hist[0]["at"], "status": path[-1],
                  "history": hist, "contract": ctid, "change_type": "date", "requested_by": "customer",
                  "description": "客户场地未就绪,申请推迟进场。",
                  "dates": {"current": current, "requested": (parse_date(current) + timedelta(days=14)).isoformat()}}
            if "assessed" in path:
                at = hist[path.index("assessed")]["at"]
                ch["assessment"] = {"extra_people": 0, "extra_person_days": rng.randint(0, 5),
                                    "extra_cost": {"amount": rng.randrange(0, 30000, 1000), "currency": "CNY"},
                                    "impact": "安装班组需错峰安排。", "options": "A:推迟进场;B:按期进场空置。",
                                    "assessed_by": dlv, "assessed_at": at}
            if path[-1] in ("accepted", "rejected") and "assessed" in path:
                ch["decision"] = {"outcome": path[-1], "at": hist[-1]["at"],
                                  "customer_signature": {"name": contact, "at": hist[-1]["at"]}}
            w.put("change", ch)


# ------------------------------------------------------------------------------------- API


def source_root(given: Path | None = None) -> Path | None:
    """The repository whose schemas are copied: ``given``, else the checkout this package
    lives in (``tools/servicebook/write/synth.py`` -> repository root)."""
    for candidate in (given, Path(__file__).resolve().parents[3]):
        if candidate is not None and (Path(candidate) / SCHEMAS_DIR / "lifecycle.yaml").is_file():
            return Path(candidate)
    return None


def generate(out: Path | str, n: int, seed: int = 0, source: Path | str | None = None) -> dict[str, int]:
    """Write a repository with ``n`` records at ``out`` (created; must not hold records yet).

    Returns the number of records written per kind."""
    out = Path(out)
    if n < len(GENERATED_KINDS) * 4:
        raise ValueError(f"ask for at least {len(GENERATED_KINDS) * 4} records so every kind appears")
    src = source_root(Path(source) if source else None)
    if src is None:
        raise FileNotFoundError("no servicebook repository with schemas/ found to copy from")
    if (out / RECORDS_DIR).exists() and any((out / RECORDS_DIR).iterdir()):
        raise FileExistsError(f"{out / RECORDS_DIR} already holds records; choose an empty folder")
    out.mkdir(parents=True, exist_ok=True)
    if (out / SCHEMAS_DIR).exists():
        shutil.rmtree(out / SCHEMAS_DIR)
    shutil.copytree(src / SCHEMAS_DIR, out / SCHEMAS_DIR)
    for folder in COPIED_RECORD_FOLDERS:
        if (src / RECORDS_DIR / folder).is_dir():
            shutil.copytree(src / RECORDS_DIR / folder, out / RECORDS_DIR / folder)

    rng = random.Random(seed)
    span = max(30, min((LAST_DAY - FIRST_DAY).days, n // 60))
    first = LAST_DAY - timedelta(days=span)
    days = [(first + timedelta(days=i)).isoformat() for i in range(span + 60)]
    ctx = _Ctx(rng, days, day_index={d: i for i, d in enumerate(days)}, end=span * 1440 + 1439)
    writer = _Writer(out, n)

    n_people = max(len(ROLES) + 2, min(400, n // 250))
    n_customers = max(6, min(5000, n // 30))
    n_products = max(len(CATALOGUE), min(60, n // 2000))
    for p in _people(ctx, n_people):
        writer.put("person", p)
    ctx.customers = _customers(ctx, n_customers)
    for c in ctx.customers:
        writer.put("customer", c)
    # both lines need customers and products
    lines = {c["_line"] for c in ctx.customers}
    for line in ("telecom", "machinery"):
        if line not in lines:
            ctx.customers[len(ctx.customers) - 1 if line == "machinery" else 0]["_line"] = line
    for p in _products(ctx, n_products):
        writer.put("product", p)
    for d in _parts(ctx):
        writer.put("part", d)
    for d in _kb(ctx, min(sum(map(len, FAULTS.values())), max(4, n // 100))):
        writer.put("kb", d)

    # cases: deals first in each stretch of time, service cases dominant
    minute, i, before = 0, 0, writer.count
    while not writer.full:
        # paced by the records chains have taken so far, so the last chains land at LAST_DAY
        # (a fixed guess of records per chain ran out of records months early at 100k)
        per_chain = (writer.count - before) / i if i else 3.0
        chains_left = max(1.0, (n - writer.count) / max(1.0, per_chain))
        step = max(2, int((span * 1440 - minute) / chains_left))
        minute = min(minute + rng.randint(step // 2 + 1, step + step // 2 + 1), span * 1440)
        day_start = (minute // 1440) * 1440
        at = day_start + rng.randint(8 * 60, 17 * 60)
        open_share = 0.5 if minute > span * 1440 * 0.97 else 0.04
        # the first chains are deals so service cases have contracts to refer to
        if i < 3 or rng.random() < 0.16:
            _deal(ctx, writer, at, open_share)
        else:
            _service(ctx, writer, at, open_share)
        i += 1
    return dict(sorted(writer.kinds.items()))


__all__ = ["generate", "GENERATED_KINDS", "source_root", "dump"]
