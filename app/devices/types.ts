// Device listings, the same shape for the simulated kernel, this machine and
// the virtual lab, so `stresslab devices` and the UI print them one way.
export interface CardInfo {
  index: number;
  id: string;
  driver: string;
  name: string;
  longname: string;
}

export interface PcmInfo {
  card: number;
  cardId: string;
  cardName: string;
  device: number;
  /** PCM id and name as in SNDRV_CTL_IOCTL_PCM_INFO / aplay -l. */
  id: string;
  name: string;
  stream: 'playback' | 'capture';
  subdevices: number;
  subdevicesAvail: number;
  subdeviceNames: string[];
}

export interface SeqPortInfo {
  port: number;
  name: string;
  /** Subset of "read", "write", "subs_read", "subs_write", "duplex". */
  caps: string[];
  /** "client:port" addresses. */
  connectedTo: string[];
  connectedFrom: string[];
}

export interface SeqClientInfo {
  client: number;
  name: string;
  type: 'kernel' | 'user';
  card?: number;
  ports: SeqPortInfo[];
}

export interface ControlInfo {
  card: number;
  numid: number;
  name: string;
  index: number;
  type: 'BOOLEAN' | 'INTEGER' | 'ENUMERATED';
  count: number;
  items?: string[];
  min?: number;
  max?: number;
  value: (number | boolean | string)[];
}

export interface DeviceList {
  target: string;
  cards: CardInfo[];
  pcms: PcmInfo[];
  seqClients: SeqClientInfo[];
  controls?: ControlInfo[];
  /** Why parts of the listing are missing (no /dev/snd, no permission...). */
  notes: string[];
}
