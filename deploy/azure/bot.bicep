// Insight Desk on Azure: a Linux App Service running the bot's container, and the Azure Bot
// resource that connects Microsoft Teams to its messaging endpoint (https://<web app>/api/messages).
//
//   az deployment group create -g <resource group> -f deploy/azure/bot.bicep \
//     -p containerImage=<registry>/insight-desk:0.1.0 microsoftAppId=<app id> microsoftAppPassword=<secret>
//
// The app registration (Microsoft Entra ID) is created beforehand; see deploy/README.md.

targetScope = 'resourceGroup'

@description('Base name of the resources: letters, digits and hyphens.')
@minLength(3)
@maxLength(40)
param name string = 'insight-desk'

@description('Region of the App Service plan and web app. The Azure Bot resource itself is global.')
param location string = resourceGroup().location

@description('Container image to run, e.g. myregistry.azurecr.io/insight-desk:0.1.0.')
param containerImage string

@description('Login server of a private registry (e.g. myregistry.azurecr.io); empty for a public image.')
param registryServer string = ''

@description('User name for the private registry.')
param registryUsername string = ''

@description('Password for the private registry.')
@secure()
param registryPassword string = ''

@description('App Service plan SKU. Always On needs B1 or larger.')
param planSku string = 'B1'

@description('Azure Bot pricing tier: F0 (free, standard channels) or S1.')
@allowed([
  'F0'
  'S1'
])
param botSku string = 'F0'

@description('Application (client) ID of the bot\'s Microsoft Entra app registration.')
param microsoftAppId string

@description('Client secret of that app registration.')
@secure()
param microsoftAppPassword string

@description('How the app registration is scoped. New Azure Bot registrations must be SingleTenant.')
@allowed([
  'SingleTenant'
  'MultiTenant'
])
param microsoftAppType string = 'SingleTenant'

@description('Tenant of the app registration (used when SingleTenant).')
param microsoftAppTenantId string = tenant().tenantId

@description('Where the bot keeps state: blob (a storage account made here, shared by every instance) or sqlite (the container\'s own disk: one instance, lost when the container is replaced).')
@allowed([
  'blob'
  'sqlite'
])
param stateStoreKind string = 'blob'

@description('App Service instances. More than one needs stateStoreKind blob.')
@minValue(1)
@maxValue(10)
param instances int = 1

@description('Seconds between checks for changed knowledge-base files (0: only on restart).')
param kbReloadSeconds int = 0

@description('Log level: DEBUG, INFO, WARNING or ERROR.')
param logLevel string = 'INFO'

var port = '3978'
var suffix = uniqueString(resourceGroup().id, name)
var isSingleTenant = microsoftAppType == 'SingleTenant'
var useBlob = stateStoreKind == 'blob'
var stateContainer = 'insight-desk-state'

var appSettings = [
  {
    name: 'WEBSITES_PORT'
    value: port
  }
  {
    name: 'PORT'
    value: port
  }
  {
    name: 'HOST'
    value: '0.0.0.0'
  }
  {
    name: 'STATE_STORE'
    value: useBlob ? 'azureblob://${stateContainer}' : 'sqlite:///var/insight-desk.db'
  }
  {
    name: 'AZURE_STORAGE_CONNECTION_STRING'
    value: useBlob ? 'DefaultEndpointsProtocol=https;AccountName=${state.name};AccountKey=${state.listKeys().keys[0].value};EndpointSuffix=${environment().suffixes.storage}' : ''
  }
  {
    name: 'LOG_LEVEL'
    value: logLevel
  }
  {
    name: 'LOG_FORMAT'
    value: 'json'
  }
  {
    name: 'KB_RELOAD_SECONDS'
    value: string(kbReloadSeconds)
  }
  {
    name: 'MicrosoftAppId'
    value: microsoftAppId
  }
  {
    name: 'MicrosoftAppPassword'
    value: microsoftAppPassword
  }
  {
    name: 'MicrosoftAppType'
    value: microsoftAppType
  }
  {
    name: 'MicrosoftAppTenantId'
    value: isSingleTenant ? microsoftAppTenantId : ''
  }
]

var registrySettings = empty(registryServer) ? [] : [
  {
    name: 'DOCKER_REGISTRY_SERVER_URL'
    value: 'https://${registryServer}'
  }
  {
    name: 'DOCKER_REGISTRY_SERVER_USERNAME'
    value: registryUsername
  }
  {
    name: 'DOCKER_REGISTRY_SERVER_PASSWORD'
    value: registryPassword
  }
]

// State shared by every instance: one blob per user or conversation item, daily append blobs of feedback.
resource state 'Microsoft.Storage/storageAccounts@2023-05-01' = if (useBlob) {
  name: take('insightdesk${suffix}', 24)
  location: location
  kind: 'StorageV2'
  sku: {
    name: 'Standard_LRS'
  }
  properties: {
    minimumTlsVersion: 'TLS1_2'
    allowBlobPublicAccess: false
    supportsHttpsTrafficOnly: true
  }
}

resource stateBlobs 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' = if (useBlob) {
  parent: state
  name: 'default'
}

resource stateContainerResource 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = if (useBlob) {
  parent: stateBlobs
  name: stateContainer
  properties: {
    publicAccess: 'None'
  }
}

resource plan 'Microsoft.Web/serverfarms@2023-12-01' = {
  name: '${name}-plan'
  location: location
  kind: 'linux'
  sku: {
    name: planSku
    capacity: useBlob ? instances : 1 // SQLite state lives in one instance
  }
  properties: {
    reserved: true // Linux
  }
}

resource site 'Microsoft.Web/sites@2023-12-01' = {
  name: '${name}-${suffix}'
  location: location
  kind: 'app,linux,container'
  dependsOn: [
    stateContainerResource
  ]
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    clientAffinityEnabled: false
    siteConfig: {
      linuxFxVersion: 'DOCKER|${containerImage}'
      appSettings: concat(appSettings, registrySettings)
      alwaysOn: true
      healthCheckPath: '/healthz'
      http20Enabled: true
      minTlsVersion: '1.2'
      ftpsState: 'Disabled'
    }
  }
}

resource bot 'Microsoft.BotService/botServices@2022-09-15' = {
  name: '${name}-${suffix}'
  location: 'global'
  kind: 'azurebot'
  sku: {
    name: botSku
  }
  properties: {
    displayName: 'Insight Desk'
    description: 'Paste an error message in any language; get the article that explains it.'
    endpoint: 'https://${site.properties.defaultHostName}/api/messages'
    msaAppId: microsoftAppId
    msaAppType: microsoftAppType
    msaAppTenantId: isSingleTenant ? microsoftAppTenantId : ''
  }
}

resource teams 'Microsoft.BotService/botServices/channels@2022-09-15' = {
  parent: bot
  name: 'MsTeamsChannel'
  location: 'global'
  properties: {
    channelName: 'MsTeamsChannel'
    properties: {
      isEnabled: true
    }
  }
}

@description('The messaging endpoint registered with the Azure Bot.')
output messagingEndpoint string = bot.properties.endpoint

@description('Host name of the web app: the BOT_DOMAIN of the Teams app package.')
output botDomain string = site.properties.defaultHostName

@description('Name of the Azure Bot resource.')
output botName string = bot.name

@description('Where the bot keeps state.')
output stateStore string = useBlob ? 'azureblob://${stateContainer} in ${state.name}' : 'sqlite, one instance'
