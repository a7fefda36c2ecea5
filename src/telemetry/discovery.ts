/**
 * Home Assistant MQTT discovery (off by default, `mqtt.homeAssistant`): retained config
 * messages under `<prefix>/<component>/<node>/<object>/config` that make the main
 * figures appear as one device: online, recordings and exports free space, queue
 * length, last export. The sensors read the topics the appliance publishes anyway.
 */
export interface DiscoveryMessage {
  topic: string;
  payload: Record<string, unknown>;
}

export function discoveryMessages(o: { prefix: string; base: string; applianceId: string; version: string }): DiscoveryMessage[] {
  const node = `veilport_${o.applianceId.replace(/[^A-Za-z0-9_-]/g, '_')}`;
  const device = { identifiers: [node], name: `Veilport ${o.applianceId}`, manufacturer: 'Veilport', model: 'CCTV export appliance', sw_version: o.version };
  const availability = [{ topic: `${o.base}/availability`, payload_available: 'online', payload_not_available: 'offline', value_template: "{{ 'online' if value == 'online' else 'offline' }}" }];
  const sensor = (object: string, name: string, topic: string, extra: Record<string, unknown>): DiscoveryMessage => ({
    topic: `${o.prefix}/sensor/${node}/${object}/config`,
    payload: { name, unique_id: `${node}_${object}`, object_id: `${node}_${object}`, state_topic: `${o.base}/${topic}`, availability, device, ...extra },
  });
  return [
    {
      topic: `${o.prefix}/binary_sensor/${node}/online/config`,
      payload: {
        name: 'Online',
        unique_id: `${node}_online`,
        object_id: `${node}_online`,
        state_topic: `${o.base}/availability`,
        value_template: "{{ 'ON' if value == 'online' else 'OFF' }}",
        payload_on: 'ON',
        payload_off: 'OFF',
        device_class: 'connectivity',
        // The sensor itself says offline; it must not go "unavailable" with the box.
        availability: [{ topic: `${o.base}/availability`, value_template: "{{ 'online' }}", payload_available: 'online' }],
        device,
      },
    },
    sensor('recordings_free', 'Recordings free', 'metrics', { value_template: '{{ (value_json.disks.recordings.freeBytes / 1e9) | round(1) if value_json.disks.recordings.freeBytes is not none else none }}', unit_of_measurement: 'GB', device_class: 'data_size', state_class: 'measurement' }),
    sensor('exports_free', 'Exports free', 'metrics', { value_template: '{{ (value_json.disks.exports.freeBytes / 1e9) | round(1) if value_json.disks.exports.freeBytes is not none else none }}', unit_of_measurement: 'GB', device_class: 'data_size', state_class: 'measurement' }),
    sensor('queue', 'Export queue', 'state', { value_template: '{{ value_json.queue.queued + value_json.queue.running }}', unit_of_measurement: 'jobs', state_class: 'measurement' }),
    sensor('last_export', 'Last export', 'state', { value_template: '{{ value_json.lastExportAt }}', device_class: 'timestamp' }),
  ];
}
