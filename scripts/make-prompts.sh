#!/usr/bin/env bash
# Regenerates centralita's own prompts (sounds/<lang>/centralita/*.wav,
# 8 kHz mono) with espeak-ng, for what Asterisk's stock sounds do not say.
# The output is committed; run this only after changing the texts below.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v espeak-ng >/dev/null || { echo "apt-get install espeak-ng sox" >&2; exit 1; }

# name|Spanish|English
prompts=(
  "agent-paused|Pausa activada.|You are now on a pause."
  "agent-available|Está disponible para recibir llamadas.|You are now available for calls."
  "agent-not-logged-in|No hay ningún agente conectado en este teléfono.|No agent is logged in on this phone."
  "agent-not-now|Eso no se puede hacer ahora.|That cannot be done right now."
  "pause-enter-code|Marque el código de la pausa.|Enter the pause code."
  "pause-invalid-code|Ese código de pausa no existe.|That pause code does not exist."
  "pause-pending|La pausa empezará al terminar la llamada.|Your pause will start when the call ends."
  "agent-unreachable|Su teléfono no está disponible.|Your phone is not reachable."
  "monitor-not-supervisor|Solo un supervisor puede escuchar llamadas.|Only a supervisor can monitor calls."
  "monitor-agent-number|Marque el número del agente y la tecla almohadilla.|Enter the agent's number, then the pound key."
  "monitor-unknown-agent|Ese número de agente no existe.|There is no agent with that number."
  "monitor-agent-not-on-call|Ese agente no está en una llamada.|That agent is not on a call."
  "monitor-not-allowed|No puede escuchar a ese agente.|You may not monitor that agent."
  "monitor-already|Ya está escuchando otra llamada.|You are already monitoring a call."
  "monitor-call-ended|La llamada ha terminado.|The call has ended."
  "disposition-saved|Código de cierre guardado.|Wrap-up code saved."
  "disposition-invalid-code|Ese código de cierre no existe en esta cola.|That wrap-up code does not exist in this queue."
  "disposition-no-call|No hay ninguna llamada que cerrar.|There is no call to close."
  "disposition-note-needed|Ese código necesita una nota. Póngala en la página del agente.|That code needs a note. Add it on the agent desk page."
  "agent-state-forced|Un supervisor ha cambiado su estado.|A supervisor has changed your state."
  "outbound-busy|El número está ocupado.|The number is busy."
  "outbound-no-answer|El número no contesta.|The number does not answer."
  "outbound-invalid|Ese número no existe.|That number does not exist."
  "outbound-failed|No se ha podido hacer la llamada. Inténtelo más tarde.|The call could not be made. Try again later."
  "outbound-not-allowed|No puede llamar a ese número.|You may not call that number."
  "outbound-do-not-call|Ese número está en la lista de no llamar.|That number is on the do-not-call list."
)

# With names as arguments, only those prompts are made.
for entry in "${prompts[@]}"; do
  IFS='|' read -r name es en <<<"$entry"
  if [ $# -gt 0 ] && [[ " $* " != *" $name "* ]]; then continue; fi
  for lang in es en; do
    text=$es; voice=es
    [ "$lang" = en ] && { text=$en; voice=en-us; }
    mkdir -p "sounds/$lang/centralita"
    tmp=$(mktemp --suffix=.wav)
    espeak-ng -v "$voice" -s 150 -w "$tmp" "$text"
    sox "$tmp" -r 8000 -c 1 -b 16 "sounds/$lang/centralita/$name.wav"
    rm -f "$tmp"
  done
done
echo "wrote $(ls sounds/*/centralita/*.wav | wc -l) prompts"
