// 同事面板与线路状态（BLF）的文字，键与 blf.en.ts 相同。
export default {
  blf: {
    title: '同事',
    empty: '还没有要关注的同事。',
    add: '添加按键',
    uri: '号码或 SIP 地址',
    name: '名称',
    remove: '删除 {name}',
    call: '呼叫 {name}（{status}）',
    status: {
      idle: '空闲',
      ringing: '振铃中',
      busy: '忙碌',
      away: '离开',
      offline: '离线',
      unknown: '未知',
    },
    agent: {
      offline: '已退出队列',
      available: '就绪',
      offered: '正在分配队列来电',
      'on-call': '正在接听队列来电',
      'wrap-up': '话后处理',
      'not-ready': '暂停',
      pausedFor: '暂停：{reason}',
    },
    announce: '{name}：{state}',
    target: '{name}：{status}',
  },
};
