"""The simulator's Chinese vocabulary: places, issues people raise, themes, officials' bodies,
consultations and activities. Plausible, never real persons; units come from the routing rules."""

from __future__ import annotations

from schemas import events as ev

ROAD_STEMS = (
    "人民", "解放", "胜利", "中兴", "环城", "迎恩", "凤林", "鉴湖", "兴越", "镜湖", "曹娥", "笛扬",
    "群贤", "百官", "市民", "越州", "延安", "东街", "府山", "稽山", "塔山", "湖塘", "齐贤", "钱陶",
    "会稽", "舜江", "江扬", "龙山", "兰亭", "柯桥", "青藤", "梅山", "阳明", "南池",
)
ROAD_SUFFIXES = ("路", "路", "路", "街", "大道")
PLACE_STEMS = (
    "和平", "新民", "东风", "城东", "湖滨", "光明", "解放", "前进", "团结", "建设", "幸福", "新华",
    "长桥", "西园", "青坛", "塘湾", "前梅", "山头", "五星", "红旗", "大禹", "安康", "白马", "双溪",
    "荷湖", "桥头", "永丰", "联合", "江南", "枫桥", "越秀", "北海", "南湖", "稽东", "金湖", "兴华",
)
INSTITUTIONS = ("卫生院", "中心学校", "文化站", "社区卫生服务中心")

# Art. 14 themes -> the category whose units are arranged to attend.
HOT_THEMES: dict[str, str] = {
    "老旧小区改造": "城乡建设", "垃圾分类": "生态环境", "养老服务": "养老服务", "义务教育": "教育",
    "道路交通安全": "交通出行", "农村饮用水": "农业农村", "食品安全": "市场监管",
    "营商环境": "市场监管", "电动自行车充电安全": "社会治理", "未来社区建设": "城乡建设",
    "农村生活污水治理": "生态环境", "托育服务": "教育", "就业帮扶": "就业创业", "平安建设": "社会治理",
    "物业管理": "城乡建设", "防汛防台": "城乡建设", "河湖长制": "生态环境", "文明城市创建": "社会治理",
}
KEY_WORK_THEMES: dict[str, str] = {
    "民生实事项目征集": "社会治理", "“十五五”规划编制听取意见": "社会治理",
    "优化营商环境条例实施": "市场监管", "代表法学习宣传": "社会治理",
}
CANCEL_REASONS = (
    "台风预警，活动延期", "场地临时维修", "与上级人大会议时间冲突", "受持续强降雨影响延期",
)
SUPERVISION_NOTES = (
    "临近办理期限，督促承办单位加快办理", "群众再次反映，代表联络站电话督办",
    "人大街道工委赴承办单位现场督办", "纳入月度督办清单", "代表跟踪督办，要求限期反馈",
)
OVERDUE_NOTES = (
    "已超过办理期限，督促承办单位说明原因并限期反馈", "超期未办结，列入人大常委会重点督办件",
)

# category -> "issue|what the citizen asks for" …
CATEGORIES: dict[str, tuple[str, ...]] = {
    "城乡建设": (
        "老旧小区外墙渗水严重|希望纳入老旧小区改造计划",
        "楼道照明损坏多时无人维修|希望尽快安排维修",
        "加装电梯推进缓慢|希望街道帮助协调低层住户意见",
        "小区雨污管网堵塞，雨天积水|希望尽快疏通改造",
        "背街小巷路面破损|建议列入年度道路修缮计划",
    ),
    "交通出行": (
        "公交班次少，早晚高峰等车时间长|建议增开高峰班次",
        "路口缺少红绿灯，过马路不安全|希望增设信号灯和斑马线",
        "学校门口上下学时段拥堵|建议优化接送车辆停放",
        "乡村道路缺少路灯|希望安装路灯",
        "停车位紧张，乱停车现象多|建议挖潜增设停车泊位",
    ),
    "教育": (
        "附近幼儿园学位紧张|希望统筹增加学位",
        "学校课后服务时间与家长下班时间不衔接|建议延长课后服务时间",
        "校车接送点设置不合理|建议重新规划接送点",
        "学校周边文具店销售三无产品|希望加强监管",
    ),
    "医疗卫生": (
        "社区卫生服务站药品种类少|希望增加常用药配备",
        "老年人看病挂号难，不会用手机预约|建议保留人工窗口",
        "家庭医生签约后上门服务少|希望落实签约服务",
        "村卫生室医生年龄偏大、后继乏人|希望加强基层医疗力量",
    ),
    "养老服务": (
        "居家养老服务中心开放时间短|希望延长开放时间",
        "老年食堂用餐价格偏高|建议提高助餐补贴",
        "独居老人缺少定期探访|希望建立探访关爱机制",
        "养老机构床位紧张|希望增加护理型床位",
    ),
    "生态环境": (
        "河道有异味，漂浮物多|希望尽快清理整治",
        "企业夜间排放废气，气味刺鼻|希望加强执法检查",
        "建筑工地夜间施工噪声扰民|建议严格限定施工时间",
        "垃圾中转站臭味影响周边居民|希望采取除臭措施",
    ),
    "社会治理": (
        "邻里纠纷调解不及时|希望加强人民调解力量",
        "出租房群租隐患多|建议开展专项整治",
        "电动自行车楼道充电存在安全隐患|希望增设集中充电桩",
        "小区物业服务质量差，业委会难以成立|希望有关部门指导",
    ),
    "就业创业": (
        "大龄失业人员再就业难|希望提供就业培训和岗位推荐",
        "灵活就业人员参保政策不清楚|建议加强政策宣传",
        "小微企业创业补贴申请流程复杂|希望简化办事流程",
        "外来务工人员工资被拖欠|希望帮助追讨",
    ),
    "农业农村": (
        "农田灌溉渠道年久失修|希望安排资金修缮",
        "农村饮用水水压不足|希望改造供水管网",
        "茶叶销售渠道单一，价格偏低|建议帮助拓展销路",
        "农村宅基地审批周期长|希望加快审批",
    ),
    "市场监管": (
        "农贸市场有缺斤短两现象|希望加强检查",
        "校园周边小吃摊卫生状况差|建议开展专项整治",
        "预付卡商家跑路，消费者维权难|希望帮助群众维权",
    ),
}
CATEGORY_WEIGHTS = (16, 14, 10, 10, 10, 10, 10, 6, 8, 6)

# The demo's planted 民情 hot topic: discoloured tap water after mains works, in one county
# in one month. The analysis must find it from the text alone.
HOT_TOPIC_CATEGORY = "城乡建设"
HOT_TOPIC_KEYWORDS = ("自来水", "发黄", "浑浊")
HOT_TOPIC_TEXTS = (
    "{place}近一周自来水发黄浑浊，烧开后有沉淀，希望尽快查明原因。",
    "{place}自来水发黄浑浊，有铁锈味，不敢饮用，希望供水部门尽快处理。",
    "{place}自来水浑浊发黄，怀疑与附近供水管网改造有关，希望加强水质检测。",
    "{place}早上打开水龙头自来水发黄浑浊，放水很久才变清，希望给个说法。",
    "{place}多户居民反映自来水发黄浑浊，希望公布水质检测结果。",
    "{place}自来水时常发黄浑浊，老人小孩不敢喝，希望彻底解决。",
)

ANSWERS = (
    "经代表联络站工作人员现场核实，已向群众解释有关政策并答复。",
    "人大代表当场解答了有关政策规定，群众表示理解。",
    "已联系社区（村）现场协调，问题当场得到解决。",
    "经电话沟通，已向群众说明办理流程和所需材料。",
)
FEEDBACK = (
    "{unit}已完成整改，并向群众反馈办理结果。",
    "{unit}已制定解决方案，预计近期实施到位。",
    "{unit}已现场查看，问题已纳入下一阶段工作计划。",
    "{unit}已答复：因客观条件限制，暂难解决，已作解释。",
)
LATE_FEEDBACK = "{unit}超过办理期限后反馈：问题已处理，对延误向群众作了说明。"
CONSULTATION_ANSWER = "意见已记录，由代表联络站汇总后报送{organiser}。"

# Art. 9: the post a staff member holds besides; {t} is the township, {c} the county.
HEAD_POSITIONS = {"街道": "{t}人大工委主任", "镇": "{t}人大主席", "乡": "{t}人大主席"}
DEPUTY_HEAD_POSITIONS = {"街道": "{t}人大工委副主任", "镇": "{t}人大副主席", "乡": "{t}人大副主席"}
LIAISON_POSITIONS = {"街道": "{t}人大工委工作人员", "镇": "{t}人大办工作人员", "乡": "{t}人大办工作人员"}
POINT_POSITIONS = {
    "village": "{p}村委会委员", "community": "{p}居委会委员", "enterprise": "{p}工会主席",
    "building": "{p}物业服务中心负责人", "institution": "{p}办公室负责人",
}
STAFF_RELEASE_REASONS = ("工作调动", "岗位调整", "退休")

SIGNAGE: tuple[ev.SignageItem, ...] = ("门牌", "标识牌", "指引牌", "公示栏", "代表风采栏", "接待须知")
POINT_SIGNAGE: tuple[ev.SignageItem, ...] = ("门牌", "标识牌", "公示栏")
RELOCATION_REASONS = ("原址位于二楼，群众上下不便，迁至一楼临街新址", "原址面积偏小，迁入党群服务中心一楼")
POINT_CLOSE_REASONS = ("所在企业整体搬迁，联络点撤销", "所在楼宇改造，联络点并入联络站")
DEPUTY_LEAVE_REASONS = ("工作调动离开本选区，代表资格终止", "因身体原因辞去代表职务")

# Art. 13: bodies whose officials come to the station; {c} county, {g} township government.
CONTACT_BODIES: tuple[tuple[ev.Body, str, tuple[str, ...], tuple[ev.ContactPurpose, ...]], ...] = (
    ("standing_committee", "{c}人大常委会", ("副主任", "常委会委员"), ("member_contact", "hear_opinions")),
    ("government", "{c}人民政府", ("副{k}长",), ("consultation", "hear_opinions")),
    ("government_department", "{dept}", ("局长", "副局长"), ("hear_opinions", "proposal_feedback")),
    ("supervision_commission", "{c}监察委员会", ("副主任",), ("consultation", "hear_opinions")),
    ("court", "{c}人民法院", ("院长", "副院长"), ("consultation", "hear_opinions")),
    ("procuratorate", "{c}人民检察院", ("检察长", "副检察长"), ("consultation", "hear_opinions")),
    ("township_government", "{g}", ("主要负责人", "分管负责人"), ("hear_opinions", "proposal_feedback")),
)
AGENCY_SERVICES: tuple[tuple[ev.Body, str, str], ...] = (
    ("court", "{c}人民法院", "法官进站开展诉前调解和法律咨询"),
    ("procuratorate", "{c}人民检察院", "检察官进站收集公益诉讼线索、开展法治宣传"),
    ("government_department", "{c}司法局", "律师进站提供公共法律服务"),
    ("government_department", "{c}人力资源和社会保障局", "社保和就业政策咨询"),
    ("supervision_commission", "{c}监察委员会", "基层监督联络员进站听取群众反映"),
)
SCHEDULES = ("每月第一个星期三上午", "每月十五日全天", "每周二下午", "每两周星期四上午")

# Art. 16: subject -> (title, organiser, organiser level, months it runs in, category, opinion texts).
# {C} city, {c} county, {y} next year.
CONSULTATIONS: dict[ev.ConsultationSubject, tuple[str, str, ev.Level, tuple[int, ...], str, tuple[str, ...]]] = {
    "legislation_plan": (
        "{C}人大常委会{y}年度立法计划项目征集", "{C}人大常委会法制工作委员会", "city", (9, 10), "立法工作",
        ("建议将电动自行车停放充电管理列入立法计划", "建议就既有住宅加装电梯制定地方性法规",
         "建议将农村生活垃圾分类纳入立法项目"),
    ),
    "local_regulation": (
        "《{C}物业管理条例（修订草案）》征求意见", "{C}人大常委会法制工作委员会", "city", (3, 4, 5, 6),
        "立法工作",
        ("建议明确街道、社区在业委会组建中的指导职责", "建议增加对物业服务企业违规行为的处罚梯度",
         "建议细化维修资金使用的表决程序"),
    ),
    "government_rule": (
        "《{C}住宅小区停车管理办法（征求意见稿）》", "{C}司法局", "city", (4, 5, 6, 7), "立法工作",
        ("建议允许夜间共享周边单位停车位", "建议明确新能源车充电车位的管理责任"),
    ),
    "post_legislative_review": (
        "《{C}文明行为促进条例》立法后评估", "{C}人大常委会法制工作委员会", "city", (6, 7, 8), "立法工作",
        ("条例实施后公共场所秩序明显好转，建议加强对不文明养犬的执法",
         "建议把文明行为表彰与志愿服务积分挂钩"),
    ),
    "supervision_plan": (
        "{c}人大常委会{y}年度监督工作计划征求意见", "{c}人大常委会办公室", "county", (10, 11), "监督工作",
        ("建议将养老服务体系建设列入明年监督计划", "建议听取审议农村生活污水治理情况报告",
         "建议对义务教育优质均衡发展开展专题询问"),
    ),
    "special_work_report": (
        "{c}人民政府关于养老服务体系建设情况的专项工作报告", "{c}人大常委会社会建设工作委员会", "county",
        (5, 6, 7), "监督工作",
        ("建议加快补齐农村助餐点短板", "建议提高护理型床位占比"),
    ),
    "enforcement_inspection": (
        "《中华人民共和国食品安全法》执法检查听取意见", "{c}人大常委会", "county", (4, 5, 6, 9),
        "监督工作",
        ("校园周边食品安全监管仍有薄弱环节，建议加大抽检频次", "建议加强农村集体聚餐的食品安全指导"),
    ),
    "livelihood_project": (
        "{c}{y}年民生实事候选项目征集", "{c}人民政府办公室", "county", (9, 10, 11), "民生实事",
        ("建议将老年食堂扩面提质列为民生实事项目", "建议将背街小巷改造列为民生实事项目",
         "建议将社区嵌入式托育列为民生实事项目", "建议增建公共充电设施"),
    ),
    "major_policy": (
        "{c}促进民营经济高质量发展若干政策（征求意见稿）", "{c}发展和改革局", "county", (2, 3, 8),
        "重大决策",
        ("建议简化小微企业奖补申报材料", "建议政策兑现实行免申即享"),
    ),
    "major_plan": (
        "{C}国民经济和社会发展第十五个五年规划纲要编制听取意见", "{C}发展和改革委员会", "city",
        (5, 6, 7, 8), "重大决策",
        ("建议把城乡供水一体化列入规划重点工程", "建议规划建设更多城市口袋公园",
         "建议加强城乡公交一体化"),
    ),
}

# Arts. 17-19: activity kind -> (topics, organiser levels, the visit activity it registers).
ACTIVITIES: dict[ev.ActivityKind, tuple[tuple[str, ...], tuple[ev.Level, ...], ev.VisitActivity]] = {
    "inspection": (("老旧小区改造项目推进情况视察", "农村生活污水治理设施运维情况视察",
                    "城市防洪排涝工程建设视察"), ("city", "county", "township"), "inspection"),
    "survey": (("关于居家养老服务的专项调研", "关于农村饮用水安全的专项调研",
                "关于优化营商环境的专项调研"), ("county", "township"), "survey"),
    "enforcement_check": (("《中华人民共和国食品安全法》执法检查", "《浙江省电动自行车管理条例》执法检查",
                           "《中华人民共和国水污染防治法》执法检查"), ("city", "county"), "enforcement_check"),
    "livelihood_project_supervision": (("民生实事项目实施情况监督",), ("county", "township"),
                                       "project_supervision"),
    "major_project_supervision": (("重大建设工程项目实施情况监督",), ("city", "county"), "project_supervision"),
    "grid_service": (("代表进网格走访群众", "代表联系网格、收集社情民意"), ("township",), "grid_service"),
    "law_promotion": (("宪法宣传周进社区", "民法典宣传进村入户", "《浙江省电动自行车管理条例》宣传"),
                      ("township",), "law_promotion"),
    "study_session": (("学习修改后的代表法专题学习", "代表履职能力提升专题学习"), ("county", "township"),
                      "study_session"),
    "experience_exchange": (("代表履职经验交流会",), ("township",), "study_session"),
}
ACTIVITY_WEIGHTS = (12, 10, 6, 8, 5, 18, 12, 8, 5)
LIVELIHOOD_PROJECTS = ("{t}老年食堂建设", "{t}背街小巷改造", "{t}农村公路提升改造", "{t}社区嵌入式托育点建设")
MAJOR_PROJECTS = ("{c}城市防洪排涝工程", "{c}中心医院迁建工程", "{c}快速路网建设工程", "{c}污水处理厂扩建工程")

LEAD_TEXTS = (
    "建议{ask}（群众反映：{issue}）",
    "群众反映{issue}，可形成代表建议：{ask}",
)
RATINGS: tuple[ev.Rating, ...] = ("excellent", "competent", "basically_competent")
RATING_WEIGHTS = (55, 40, 5)

PROVIDERS: tuple[tuple[str, ev.ProviderKind, str], ...] = (
    ("绍兴文理学院", "university", "社情民意分析与代表履职研究服务"),
    ("浙江越秀外国语学院", "university", "联络站工作第三方评估"),
    ("{stem}社会调查研究中心", "research_institute", "群众满意度调查"),
    ("浙江{stem}律师事务所", "law_firm", "代表履职和群众来访法律咨询服务"),
    ("浙江{stem}律师事务所", "law_firm", "意见建议涉法事项法律意见"),
)
TRAINING_TOPIC = "人大代表联络站工作人员业务培训（{y}年度）"
COMMENDATION_TITLE = "{y}年度工作成绩突出人大代表联络站"
